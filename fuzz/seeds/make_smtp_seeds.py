#!/usr/bin/env python3
"""Writes the seed corpus of the `smtp_session` fuzz target: fuzz/seeds/smtp_session/.

Without seeds libFuzzer ran 1.5 million inputs and never formed one valid command, so
it only tested "500 Command unrecognized". Each seed here is a realistic client
transcript (CRLF line ends, as Postfix's smtp client or Python's smtplib send them)
behind the two option bytes fuzz_targets/smtp_session.rs reads:

  byte 0, options:  0x01 STARTTLS offered
                    0x02 client 127.0.0.1, allowed to relay (else 192.0.2.1, denied)
                    0x20 the sink cannot open storage at DATA (451 after DATA)
                    (byte0 >> 2) % 3 is what storing a message answers:
                        0 queued (250), 1 temporary (451), 2 permanent (554)
  byte 1, chunking: the client's bytes are fed in pieces of byte1 % 64 + 1 octets
                    (the target's largest piece is 64); everything after STARTTLS
                    in the same piece is dropped, as a man-in-the-middle injection

The session the target runs: hostname fuzz.test, SIZE 4096, 3 recipients, 20 errors;
it offers PIPELINING SIZE 8BITMIME SMTPUTF8 ENHANCEDSTATUSCODES (STARTTLS when asked),
answers RSET NOOP VRFY HELP QUIT, and 502 to BDAT (no CHUNKING), AUTH, EXPN, ETRN, ...

Seeds (file name, options, piece size: what it covers):

  01-helo-bytewise         02   1  RFC 821 client: HELO, MAIL, RCPT, DATA, QUIT, one octet per piece
  02-postfix-pipelined     02  64  Postfix: EHLO, then MAIL SIZE= BODY=8BITMIME, 2 RCPT, DATA in one
                                   packet; 8-bit body
  03-smtplib-lowercase     02  32  Python smtplib: lower-case ehlo/mail/rcpt/data/quit, size=,
                                   address literal
  04-two-messages          02  48  recipients up to the limit, then a bounce from <>; source route,
                                   quoted local part, <Postmaster> (553: no domain)
  05-over-recipient-limit  02  64  five RCPT: the 4th and 5th get 452, the message goes to three
  06-mail-size             02  64  SIZE= over the limit (552), not a number (501), 2^64 (501), 21
                                   digits (250, read as 0), RSET, exactly the limit (250)
  07-smtputf8-8bitmime     02  64  non-ASCII sender without SMTPUTF8 (553 5.6.7), BODY=BINARYMIME
                                   (555), SMTPUTF8 BODY=8BITMIME delivery
  08-dot-stuffing          02  16  lines starting with a dot (".", "..", "...", ".x", ". "),
                                   stuffed; 16-octet pieces split <CRLF>.<CRLF> differently
  09-message-too-big       02  64  a 4.4 kB message over the 4096 limit (552 at the end), then a
                                   small one in the same session
  10-bare-lf-smuggling     02  64  bare LF in DATA, <LF>.<LF> and <LF>.<CRLF> smuggled "ends" with
                                   commands after them: all one message, refused 550 at the real
                                   <CRLF>.<CRLF>
  11-bare-cr-nul           02  64  <CR>.<CR> and bare CR in one message (550), NUL in the next
                                   (550); bare LF / bare CR in command lines (500)
  12-rset-mid-transaction  02  64  RSET after RCPT, RCPT and DATA without MAIL (503), RSET again,
                                   then delivery
  13-noop-vrfy-help-quit   02  64  NOOP, VRFY, EXPN (502), HELP, STARTTLS not offered (502), QUIT,
                                   then bytes after QUIT
  14-starttls-postfix      03  42  EHLO + STARTTLS end exactly on a piece: TLS, EHLO again (no
                                   STARTTLS offered), pipelined delivery
  15-starttls-injection    03  64  STARTTLS with MAIL and RCPT after it in the same packet (must be
                                   dropped), then a clean session
  16-starttls-sequencing   03  64  STARTTLS inside a transaction (503), after RSET (220), then again
                                   under TLS (503)
  17-error-limit           02  64  unknown and malformed commands (HTTP, XCLIENT, EHLO without name,
                                   ...) up to the 20-error close (421)
  18-bdat-not-offered      02  64  BDAT n LAST with its chunk although CHUNKING is not offered: 502,
                                   the chunk read as commands
  19-long-lines            02  64  command lines of 512 (accepted) and 513 octets, a 2 kB line
                                   without LF, a 299-octet EHLO name; a 1000-octet text line with
                                   its CRLF (accepted), a 1001-octet one (550)
  20-auth-attempts         02  64  AUTH PLAIN / LOGIN / CRAM-MD5 (502), the LOGIN continuation
                                   lines, MAIL AUTH=<> (555), delivery
  21-no-relay              00  64  client not allowed to relay: every RCPT 550 5.7.1, DATA 554,
                                   RSET, QUIT
  22-sink-temporary        06  64  the message is refused temporarily when stored (451); the client
                                   retries at once
  23-sink-permanent        0a  64  the message is refused permanently when stored (554)
  24-storage-unavailable   22  64  storage cannot be opened at DATA (451); the client retries, then
                                   QUITs
  25-bad-sequence          02  64  MAIL before HELO, HELO then MAIL with SIZE= (555), nested MAIL,
                                   DATA before RCPT, RCPT NOTIFY= (555), RCPT TO:<> (553), then
                                   delivery

Run from anywhere: `python3 fuzz/seeds/make_smtp_seeds.py`. Deterministic (no dates, no
randomness); it rewrites the directory, removing seeds no longer listed, and stops if this
list and the seeds it makes disagree (name, options, piece size). The dictionary
for the same target is fuzz/smtp.dict.
"""

from __future__ import annotations

import pathlib
import re
import sys

OUT = pathlib.Path(__file__).resolve().parent / "smtp_session"

# Option bits, as fuzz_targets/smtp_session.rs reads byte 0.
TLS = 0x01
RELAY = 0x02
SINK_TEMPORARY = 1 << 2  # (options >> 2) % 3 == 1
SINK_PERMANENT = 2 << 2  # (options >> 2) % 3 == 2
BEGIN_FAILS = 0x20

MAX_MESSAGE = 4096  # MAX_MESSAGE in the target
MAX_PIECE = 64

SENDER = "sam.okafor@northshire.police.uk"
COLLEAGUE = "a.patel@northshire.police.uk"
EXTERNAL = "j.smith@gmail.com"


def lines(*commands: str) -> bytes:
    """Command lines, each ended with CRLF."""
    return "".join(c + "\r\n" for c in commands).encode("utf-8")


def message(
    subject: str,
    body: list[str],
    sender: str = SENDER,
    to: tuple[str, ...] = (EXTERNAL,),
    extra: tuple[str, ...] = (),
    msgid: str = "20250603081407.4F2A1C0123@mail.northshire.police.uk",
) -> bytes:
    """An RFC 5322 message with CRLF line ends, not yet dot-stuffed."""
    headers = [
        "Received: by mail.northshire.police.uk (Postfix, from userid 1000)",
        "\tid 4F2A1C0123; Tue,  3 Jun 2025 09:14:07 +0100 (BST)",
        f"From: Sam Okafor <{sender}>",
        "To: " + ", ".join(to),
        f"Subject: {subject}",
        "Date: Tue, 03 Jun 2025 09:14:07 +0100",
        f"Message-Id: <{msgid}>",
        *extra,
    ]
    return ("\r\n".join(headers + [""] + body) + "\r\n").encode("utf-8")


def data(msg: bytes) -> bytes:
    """The DATA stream for a message: dot-stuffed, ended by <CRLF>.<CRLF>."""
    assert msg.endswith(b"\r\n")
    stuffed = b"".join(
        (b"." + line if line.startswith(b".") else line)
        for line in msg.splitlines(keepends=True)
    )
    return stuffed + b".\r\n"


def envelope(sender: str, *rcpts: str, params: str = "", lower: bool = False) -> bytes:
    mail, rcpt, dat = ("mail", "rcpt", "data") if lower else ("MAIL", "RCPT", "DATA")
    out = [f"{mail} FROM:<{sender}>{params}"]
    out += [f"{rcpt} TO:<{r}>" for r in rcpts]
    out.append(dat)
    return lines(*out)


def pad_to_piece(before: bytes, piece: int) -> bytes:
    """A NOOP line that makes `before` plus it a whole number of pieces long, so the next
    command (STARTTLS) starts a piece. Clients do send NOOP between commands."""
    n = -len(before) % piece
    while n < 8:  # "NOOP x\r\n" is the shortest line whose length we can choose
        n += piece
    return b"NOOP " + b"k" * (n - 7) + b"\r\n"


def plain_body(paragraphs: int = 2) -> list[str]:
    text = [
        "Hi John,",
        "",
        "Thanks for your time on the phone this morning. As agreed, the meeting",
        "moves to Thursday at 10:00 in the Riverside room; I have booked a",
        "projector.",
    ]
    for i in range(paragraphs - 1):
        text += ["", f"Point {i + 2}: the minutes from last week are on the shared drive."]
    return text + ["", "Regards,", "Sam", "--", "Sam Okafor | Northshire Police"]


SEEDS: list[tuple[str, int, int, bytes]] = []


def seed(name: str, options: int, piece: int):
    assert 1 <= piece <= MAX_PIECE

    def register(build):
        SEEDS.append((name, options, piece, build()))
        return build

    return register


@seed("01-helo-bytewise", RELAY, 1)
def _():
    msg = message("Lunch", ["Are we still on for lunch at 12:30?", "", "Sam"])
    return (
        lines("HELO ws17.northshire.police.uk")
        + envelope(SENDER, EXTERNAL)
        + data(msg)
        + lines("QUIT")
    )


@seed("02-postfix-pipelined", RELAY, 64)
def _():
    msg = message(
        "Réunion jeudi – salle Riverside",
        ["Bonjour Jean,", "", "La réunion est déplacée à jeudi 10h00 (salle « Riverside »).",
         "", "Cordialement,", "Sam"],
        to=(EXTERNAL, COLLEAGUE),
        extra=("MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8",
               "Content-Transfer-Encoding: 8bit"),
    )
    stream = data(msg)
    # Postfix sends EHLO, waits, then MAIL..DATA in one write when PIPELINING is offered.
    return (
        lines("EHLO mail.northshire.police.uk")
        + envelope(SENDER, EXTERNAL, COLLEAGUE, params=f" SIZE={len(msg)} BODY=8BITMIME")
        + stream
        + lines("QUIT")
    )


@seed("03-smtplib-lowercase", RELAY, 32)
def _():
    msg = message(
        "Nightly report",
        ["Backups completed: 14", "Failures: 0", "", "-- cron"],
        sender="reports@northshire.police.uk",
        to=(COLLEAGUE,),
        extra=("Content-Type: text/plain; charset=\"us-ascii\"", "MIME-Version: 1.0",
               "Content-Transfer-Encoding: 7bit"),
    )
    # smtplib: ehlo with an address literal when the host has no FQDN, lower-case verbs,
    # "size=" from len(msg).
    return (
        lines("ehlo [192.0.2.10]")
        + envelope("reports@northshire.police.uk", COLLEAGUE, params=f" size={len(msg)}", lower=True)
        + data(msg)
        + lines("quit")
    )


@seed("04-two-messages", RELAY, 48)
def _():
    first = message(
        "Case conference notes",
        plain_body(3),
        to=(COLLEAGUE, "\"john smith\"@gmail.com", "Postmaster"),
    )
    bounce = (
        "From: MAILER-DAEMON@mail.northshire.police.uk (Mail Delivery System)\r\n"
        "To: " + SENDER + "\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\r\n"
        "\r\n"
        "--B1\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "This is the mail system at host mail.northshire.police.uk.\r\n"
        "\r\n"
        "--B1\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mail.northshire.police.uk\r\n"
        "\r\n"
        "Final-Recipient: rfc822; nobody@gmail.com\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "\r\n"
        "--B1--\r\n"
    ).encode()
    return (
        lines("EHLO mail.northshire.police.uk")
        + lines(
            f"MAIL FROM:<@relay1.northshire.police.uk,@relay2.northshire.police.uk:{SENDER}>",
            f"RCPT TO:<{COLLEAGUE}>",
            "RCPT TO:<\"john smith\"@gmail.com>",
            "RCPT TO:<Postmaster>",
            "DATA",
        )
        + data(first)
        + envelope("", SENDER)
        + data(bounce)
        + lines("QUIT")
    )


@seed("05-over-recipient-limit", RELAY, 64)
def _():
    rcpts = [COLLEAGUE, EXTERNAL, "k.jones@outlook.com", "m.brown@yahoo.co.uk", "p.wilson@gmail.com"]
    msg = message("Team drinks Friday", ["Drinks at the Crown from 17:30.", "", "Sam"], to=tuple(rcpts))
    return (
        lines("EHLO mail.northshire.police.uk")
        + envelope(SENDER, *rcpts)
        + data(msg)
        + lines("QUIT")
    )


@seed("06-mail-size", RELAY, 64)
def _():
    msg = message("Size check", ["Short message.", "", "Sam"])
    return (
        lines(
            "EHLO mail.northshire.police.uk",
            f"MAIL FROM:<{SENDER}> SIZE={MAX_MESSAGE + 1}",
            f"MAIL FROM:<{SENDER}> SIZE=big",
            f"MAIL FROM:<{SENDER}> SIZE=18446744073709551616",
            # 21 digits: smtp-proto 0.2.5 restarts the number after saturating, so this
            # reads as SIZE=0 and is accepted (the limit still holds at the end of DATA).
            f"MAIL FROM:<{SENDER}> SIZE=184467440737095516160",
            "RSET",
            f"MAIL FROM:<{SENDER}> SIZE={MAX_MESSAGE}",
            f"RCPT TO:<{EXTERNAL}>",
            "DATA",
        )
        + data(msg)
        + lines("QUIT")
    )


@seed("07-smtputf8-8bitmime", RELAY, 64)
def _():
    sender = "jörg.müller@northshire.police.uk"
    rcpt = "élodie.durand@exemple.fr"
    msg = message(
        "Übergabe der Akten",
        ["Hallo Élodie,", "", "die Akten liegen bereit – Grüße aus Northshire.", "", "Jörg"],
        sender=sender,
        to=(rcpt,),
        extra=("MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8",
               "Content-Transfer-Encoding: 8bit"),
    )
    return (
        lines(
            "EHLO mail.northshire.police.uk",
            f"MAIL FROM:<{sender}> BODY=8BITMIME",
            f"MAIL FROM:<{sender}> BODY=BINARYMIME SMTPUTF8",
            f"MAIL FROM:<{sender}> SMTPUTF8 BODY=8BITMIME SIZE={len(msg)}",
            f"RCPT TO:<{rcpt}>",
            "DATA",
        )
        + data(msg)
        + lines(f"MAIL FROM:<{SENDER}> BODY=7BIT", f"RCPT TO:<{EXTERNAL}>", "DATA")
        + data(message("Plain", ["7-bit only."]))
        + lines("QUIT")
    )


@seed("08-dot-stuffing", RELAY, 16)
def _():
    msg = message(
        "Dots",
        [
            ".",
            "..",
            "...",
            ".hidden line that starts with a dot",
            ". a dot and a space",
            "A line ending in a dot.",
            "",
            ".",
            "end",
        ],
    )
    stream = data(msg)
    assert b"\r\n..\r\n" in stream and b"\r\n...\r\n" in stream
    return lines("EHLO mail.northshire.police.uk") + envelope(SENDER, EXTERNAL) + stream + lines("QUIT")


@seed("09-message-too-big", RELAY, 64)
def _():
    row = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/AB"
    body = [row] * 52
    big = message("Large attachment", body)
    assert MAX_MESSAGE < len(big) < MAX_MESSAGE + 512
    small = message("Sorry, resending without the attachment", ["See the shared drive.", "", "Sam"])
    return (
        lines("EHLO mail.northshire.police.uk")
        + envelope(SENDER, EXTERNAL)
        + data(big)
        + envelope(SENDER, EXTERNAL)
        + data(small)
        + lines("QUIT")
    )


@seed("10-bare-lf-smuggling", RELAY, 64)
def _():
    smuggled = (
        b"From: Sam Okafor <" + SENDER.encode() + b">\r\n"
        b"To: " + EXTERNAL.encode() + b"\r\n"
        b"Subject: Hello\r\n"
        b"\r\n"
        b"A line with a bare LF\nin the middle.\r\n"
        b"\n.\n"
        b"MAIL FROM:<ceo@northshire.police.uk>\n"
        b"RCPT TO:<victim@gmail.com>\n"
        b"DATA\n"
        b"From: ceo@northshire.police.uk\n"
        b"Subject: Urgent payment\n"
        b"\n"
        b"Please pay the attached invoice today.\n"
        b".\n"
        b"\r\n.\r\n"
    )
    return lines("EHLO mail.northshire.police.uk") + envelope(SENDER, EXTERNAL) + smuggled + lines("QUIT")


@seed("11-bare-cr-nul", RELAY, 64)
def _():
    bare_cr = (
        b"Subject: Carriage returns\r\n"
        b"\r\n"
        b"Old Mac line end\rhere.\r\n"
        b"\r.\r"
        b"RSET\r"
        b"\r\n.\r"
        b"still data\r\n"
        b".\r\n"
    )
    nul = b"Subject: NUL\r\n\r\nText with a NUL \x00 octet.\r\n.\r\n"
    return (
        lines("EHLO mail.northshire.police.uk")
        + envelope(SENDER, EXTERNAL)
        + bare_cr
        + envelope(SENDER, EXTERNAL)
        + nul
        + b"NOOP\n"
        + b"NOOP\rRSET\r\n"
        + lines("QUIT")
    )


@seed("12-rset-mid-transaction", RELAY, 64)
def _():
    return (
        lines(
            "EHLO mail.northshire.police.uk",
            f"MAIL FROM:<{SENDER}>",
            f"RCPT TO:<{EXTERNAL}>",
            "RSET",
            f"RCPT TO:<{EXTERNAL}>",
            "DATA",
            f"MAIL FROM:<{SENDER}>",
            f"RCPT TO:<{COLLEAGUE}>",
            "RSET",
        )
        + envelope(SENDER, EXTERNAL)
        + data(message("After a reset", ["Second try.", "", "Sam"]))
        + lines("QUIT")
    )


@seed("13-noop-vrfy-help-quit", RELAY, 64)
def _():
    return lines(
        "EHLO mail.northshire.police.uk",
        "NOOP",
        "NOOP keepalive",
        "VRFY postmaster",
        f"VRFY <{EXTERNAL}>",
        "EXPN staff-list",
        "HELP",
        "HELP MAIL",
        "STARTTLS",
        "QUIT",
        f"MAIL FROM:<{SENDER}>",
        f"RCPT TO:<{EXTERNAL}>",
    )


@seed("14-starttls-postfix", RELAY | TLS, 42)
def _():
    before = lines("EHLO mail.northshire.police.uk", "STARTTLS")
    assert len(before) == 42, len(before)  # the upgrade ends a piece: nothing after it is lost
    msg = message("Over TLS", plain_body(), to=(EXTERNAL,))
    return (
        before
        + lines("EHLO mail.northshire.police.uk")
        + envelope(SENDER, EXTERNAL, params=f" SIZE={len(msg)}")
        + data(msg)
        + lines("QUIT")
    )


@seed("15-starttls-injection", TLS | RELAY, 64)
def _():
    # A man in the middle appends commands to the client's STARTTLS (CVE-2011-0411): they
    # arrive in the same packet and must never run. The injected RCPT straddles the end of
    # the piece, so its tail reaches the session after the handshake as a bad command.
    injected = lines(
        "EHLO x",
        "STARTTLS",
        "MAIL FROM:<attacker@evil.example>",
        "RCPT TO:<victim@gmail.com>",
    )
    assert injected.index(b"RCPT") < MAX_PIECE < len(injected)
    msg = message("After the handshake", ["Clean session.", "", "Sam"])
    return (
        injected
        + lines("EHLO mail.northshire.police.uk")
        + envelope(SENDER, EXTERNAL)
        + data(msg)
        + lines("QUIT")
    )


@seed("16-starttls-sequencing", TLS | RELAY, 64)
def _():
    first = lines(
        "EHLO mail.northshire.police.uk",
        f"MAIL FROM:<{SENDER}>",
        "STARTTLS",
        "RSET",
    )
    first += pad_to_piece(first, 64)
    assert len(first) % 64 == 0
    return (
        first
        + lines("STARTTLS")
        + b"Z" * (64 - 10)  # the rest of that piece, discarded
        + lines("EHLO mail.northshire.police.uk", "STARTTLS")
        + envelope(SENDER, EXTERNAL)
        + data(message("Sequencing", ["Under TLS now."]))
        + lines("QUIT")
    )


@seed("17-error-limit", RELAY, 64)
def _():
    garbage = [
        "GET / HTTP/1.1",
        "Host: fuzz.test",
        "User-Agent: curl/8.5.0",
        "",
        "XCLIENT ADDR=203.0.113.9 NAME=spoofed.example",
        "XFORWARD HELO=spoofed.example",
        "EHLO",
        "HELO",
        "MAIL FROM:alice@example.com",
        f"RCPT TO:<{EXTERNAL}>",
        "DATA",
        "EHLO mail.northshire.police.uk",
        "MAIL FROM:<not an address>",
        "MAIL FROM:<a@b@c>",
        "LHLO mail.northshire.police.uk",
        "ETRN northshire.police.uk",
        "ATRN northshire.police.uk",
        "BURL imap://mail.example/INBOX;UIDVALIDITY=1/;UID=20 LAST",
        "TURN",
        "SEND FROM:<a@b.example>",
        "SOML FROM:<a@b.example>",
        "SAML FROM:<a@b.example>",
        f"MAIL FROM:<{SENDER}>",
    ]
    return lines(*garbage)


@seed("18-bdat-not-offered", RELAY, 64)
def _():
    chunk = message("BDAT", ["Sent with CHUNKING although", "it was not offered."])
    return (
        lines("EHLO mail.northshire.police.uk", f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{EXTERNAL}>")
        + f"BDAT {len(chunk)} LAST\r\n".encode()
        + chunk
        + lines("BDAT 0 LAST", "RSET", "QUIT")
    )


@seed("19-long-lines", RELAY, 64)
def _():
    exactly = "NOOP " + "x" * (512 - 7)  # 512 octets with CRLF: the longest command line
    over = "NOOP " + "x" * (513 - 7)
    assert len(exactly) + 2 == 512 and len(over) + 2 == 513
    long_name = "EHLO " + ".".join(["a" * 59] * 5)  # 299-octet name: over 255
    row = "abcdefghij" * 100
    ok = message("Long line", ["Long line follows:", row[:998], "end"])
    too_long = message("Too long", ["Long line follows:", row[:999], "end"])
    return (
        lines("EHLO mail.northshire.police.uk", exactly, over, long_name)
        + b"Y" * 2000
        + b"\r\n"
        + envelope(SENDER, EXTERNAL)
        + data(ok)
        + envelope(SENDER, EXTERNAL)
        + data(too_long)
        + lines("QUIT")
    )


@seed("20-auth-attempts", RELAY, 64)
def _():
    return (
        lines(
            "EHLO mail.northshire.police.uk",
            "AUTH PLAIN AHNhbS5va2Fmb3IAc2VjcmV0",
            "AUTH LOGIN",
            "c2FtLm9rYWZvcg==",
            "c2VjcmV0",
            "AUTH CRAM-MD5",
            "*",
            f"MAIL FROM:<{SENDER}> AUTH=<>",
            f"MAIL FROM:<{SENDER}> AUTH={SENDER}",
        )
        + envelope(SENDER, EXTERNAL)
        + data(message("After AUTH", ["Sent without authentication.", "", "Sam"]))
        + lines("QUIT")
    )


@seed("21-no-relay", 0, 64)
def _():
    return lines(
        "EHLO laptop.home.example",
        f"MAIL FROM:<{SENDER}>",
        f"RCPT TO:<{EXTERNAL}>",
        f"RCPT TO:<{COLLEAGUE}>",
        "DATA",
        "RSET",
        "QUIT",
    )


@seed("22-sink-temporary", RELAY | SINK_TEMPORARY, 64)
def _():
    msg = message("Retry me", ["The gateway's queue is busy."])
    return (
        lines("EHLO mail.northshire.police.uk")
        + envelope(SENDER, EXTERNAL)
        + data(msg)
        + envelope(SENDER, EXTERNAL)
        + data(msg)
        + lines("QUIT")
    )


@seed("23-sink-permanent", RELAY | SINK_PERMANENT, 64)
def _():
    return (
        lines("EHLO mail.northshire.police.uk")
        + envelope(SENDER, EXTERNAL, COLLEAGUE)
        + data(message("Refused", ["Inspection says no."], to=(EXTERNAL, COLLEAGUE)))
        + lines("QUIT")
    )


@seed("24-storage-unavailable", RELAY | BEGIN_FAILS, 64)
def _():
    return (
        lines("EHLO mail.northshire.police.uk")
        + envelope(SENDER, EXTERNAL)
        + envelope(SENDER, EXTERNAL)
        + lines("QUIT")
    )


@seed("25-bad-sequence", RELAY, 64)
def _():
    return (
        lines(
            f"MAIL FROM:<{SENDER}>",
            "HELO ws17.northshire.police.uk",
            f"MAIL FROM:<{SENDER}> SIZE=100",
            "EHLO mail.northshire.police.uk",
            f"MAIL FROM:<{SENDER}>",
            f"MAIL FROM:<{SENDER}>",
            "DATA",
            f"RCPT TO:<{EXTERNAL}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;{EXTERNAL}",
            "RCPT TO:<>",
            f"RCPT TO: <{EXTERNAL}>",
            "DATA",
        )
        + data(message("Sequence", ["Delivered in the end."]))
        + lines("QUIT")
    )


def documented() -> list[tuple[str, int, int]]:
    """(name, options, piece) of each seed listed at the top of this file."""
    rows = re.findall(r"^  (\d\d-[a-z0-9-]+) +([0-9a-f]{2}) +(\d+)  ", __doc__ or "", re.M)
    return [(name, int(options, 16), int(piece)) for name, options, piece in rows]


def main() -> int:
    names = [name for name, *_ in SEEDS]
    listed = [(name, options, piece) for name, options, piece, _ in SEEDS]
    if listed != documented():
        sys.exit(f"the list at the top does not match the seeds:\n{listed}\n{documented()}")
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.iterdir():
        if stale.name not in names:
            stale.unlink()
    for name, options, piece, transcript in SEEDS:
        (OUT / name).write_bytes(bytes([options, piece - 1]) + transcript)
    largest = max(len(t) + 2 for *_, t in SEEDS)
    print(f"wrote {len(SEEDS)} seeds to {OUT} (largest {largest} octets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
