"""The app name and the default logo: served as a PNG and shown by FAB's navbar."""
from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes):
    """(type, payload) of every chunk, checking each CRC."""
    assert data.startswith(PNG_SIGNATURE)
    offset = len(PNG_SIGNATURE)
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        payload = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        assert zlib.crc32(kind + payload) & 0xFFFFFFFF == crc, kind
        yield kind, payload
        offset += 12 + length


def test_logo_is_served_as_png(app):
    assert app.config["APP_ICON"] == "/static/img/logo.png"
    with app.test_client().get(app.config["APP_ICON"]) as response:
        assert response.status_code == 200
        assert response.mimetype == "image/png"
        data = response.data
    chunks = list(png_chunks(data))
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert 0 < height <= width <= 400 and height <= 100, (width, height)
    pixels = zlib.decompress(b"".join(payload for kind, payload in chunks if kind == b"IDAT"))
    assert pixels  # a real image body, not an empty placeholder


def test_login_page_shows_name_and_logo(app):
    response = app.test_client().get("/login/")
    assert response.status_code == 200
    page = response.data.decode()
    assert "<title>Deyor Escalations</title>" in page
    assert 'src="/static/img/logo.png"' in page


def test_logged_in_pages_show_the_logo(make_person, client_for):
    client = client_for(make_person("Asha Agent", "Agent"))
    page = client.get("/tickets/list/").data.decode()
    assert 'src="/static/img/logo.png"' in page
    assert "<title>Deyor Escalations</title>" in page
