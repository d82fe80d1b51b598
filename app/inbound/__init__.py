"""The inbound mailbox: replies to the app's emails become comments.

mailbox (IMAP: list by UID, fetch, move to Processed), parse (headers, text, quotes stripped,
auto-replies), match (ticket, proof), tokens (the Reply-To token), service (decide, post or
quarantine, the pass, an admin's accept or discard)."""
