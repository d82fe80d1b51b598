"""A real IMAP server for the inbound mail tests: Debian's Dovecot, started on a free local port
with a throw-away configuration (plain login over 127.0.0.1, one password-file user, maildir in
a temporary folder), messages delivered by IMAP APPEND as a mail server would, then stopped.

As root (CI) the mail processes run as `nobody`, since Dovecot refuses mail access as root; as
anyone else the whole server runs as that user ("rootless")."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

from imapclient import IMAPClient

USER, PASSWORD = "escalations@deyor.test", "imap-secret-42"
BOOT_SECONDS = 20


def dovecot_available() -> bool:
    return bool(shutil.which("dovecot") and shutil.which("doveadm"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(root: Path, port: int, uid: int, gid: int, internal_user: str, login_user: str) -> str:
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = deyor-test-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_internal_group = {_group(internal_user)}
default_login_user = {login_user}
first_valid_uid = {min(uid, 1)}
first_valid_gid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:{root}/mail/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def _group(user: str) -> str:
    import grp

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


class DovecotServer:
    """One Dovecot instance. `client()` opens an authenticated IMAPClient to it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.user, self.password = USER, PASSWORD
        self.conf = root / "dovecot.conf"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            uid, gid = nobody.pw_uid, nobody.pw_gid
            internal, login = "dovecot", "dovenull"
        else:
            me = pwd.getpwuid(os.geteuid())
            uid, gid = me.pw_uid, me.pw_gid
            internal = login = me.pw_name
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # the auth and mail processes read and write here as other users
            self.root.chmod(0o755)
            for sub in ("mail", "home"):
                os.chown(self.root / sub, uid, gid)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        self.conf.write_text(_config(self.root, self.port, uid, gid, internal, login))
        self.process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + BOOT_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.process.stdout.read().decode(errors='replace')}"
                                   f"\n{self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dovecot did not listen on {self.port}\n{self.log()}")
                time.sleep(0.05)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is None:
            return
        subprocess.run(["doveadm", "-c", str(self.conf), "stop"], capture_output=True, timeout=20)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    # --- talking to it as a mail server and as a reader would ---------------------------------
    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def deliver(self, raw: bytes | str, folder: str = "INBOX", seen: bool = False) -> None:
        """APPEND one message, as the mail server's delivery agent would."""
        raw = raw.encode() if isinstance(raw, str) else raw
        with self.client() as client:
            client.append(folder, raw, flags=[b"\\Seen"] if seen else [])

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        with self.client() as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [fetched[uid][b"BODY[]"] for uid in sorted(fetched)]

    def clear(self) -> None:
        """An empty INBOX and no other folder (the app creates Processed when it needs it)."""
        with self.client() as client:
            for _flags, _sep, name in client.list_folders():
                if name.upper() != "INBOX":
                    client.delete_folder(name)
            client.select_folder("INBOX")
            uids = client.search(["ALL"])
            if uids:
                client.delete_messages(uids)
                client.expunge()
            client.close_folder()

    def folders(self) -> list[str]:
        with self.client() as client:
            return sorted(name for _flags, _sep, name in client.list_folders())
