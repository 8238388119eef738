"""How long one inbound e-mail takes to parse or to be refused (issue 17 item 8, R-OPS-2).

Pure: ``safeguard.channels.mailparse`` needs no Django. Cases: an ordinary text mail, an HTML
mail, a 15-level nested multipart (parsed), a 1,000-level nested multipart and a ``To:`` header
folded over 60,000 addresses (both refused by the bounds), and 5,000 addresses (read up to the
address limit). Writes bench/results/channels_mail_parse.json and prints a summary.

    PYTHONPATH=src python bench/channels/bench_mail_parse.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchlib

from safeguard.channels import mailparse


def nested(depth: int) -> bytes:
    head = (b"From: alice@customer.example\r\nTo: support@example.com\r\nSubject: deep\r\n"
            b"Message-ID: <deep@customer.example>\r\nMIME-Version: 1.0\r\n")
    body = b"".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
                    for i in range(depth))
    body += b"Content-Type: text/plain\r\n\r\nhello\r\n"
    body += b"".join(f"--b{i}--\r\n".encode() for i in reversed(range(depth)))
    return head + body


def recipients(count: int) -> bytes:
    to = ",\r\n ".join(f"user{i}@example.test" for i in range(count))
    return (f"From: alice@customer.example\r\nTo: {to}\r\nSubject: hi\r\n"
            f"Message-ID: <wide@customer.example>\r\n\r\nhello\r\n").encode()


def ordinary(html: bool) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Alice <alice@customer.example>"
    msg["To"] = "support@example.com"
    msg["Subject"] = "=?utf-8?q?My_order?="
    msg["Message-ID"] = "<o@customer.example>"
    text = "Hello,\n\nmy order 12345 has not arrived.\n\nAlice\n" * 20
    if html:
        msg.set_content("<div>" + text.replace("\n", "<br>") + "</div>", subtype="html")
    else:
        msg.set_content(text)
    return msg.as_bytes()


CASES = {
    "ordinary_text": ordinary(False),
    "ordinary_html": ordinary(True),
    "nested_15_parsed": nested(15),
    "nested_1000_refused": nested(1000),
    "to_5000_capped": recipients(5000),
    "to_60000_refused": recipients(60000),
}


def run_case(raw: bytes, repeat: int) -> dict[str, object]:
    times: list[float] = []
    outcome = ""
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            mailparse.parse_message(raw)
            outcome = "parsed"
        except mailparse.MailUnparseable as exc:
            outcome = f"refused: {exc.reason}"
        times.append(time.perf_counter() - start)
    return {"bytes": len(raw), "outcome": outcome,
            "median_ms": round(statistics.median(times) * 1000, 3),
            "p95_ms": round(benchlib.percentile(times, 95) * 1000, 3), "runs": repeat}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    results = {}
    for name, raw in CASES.items():
        benchlib.say(f"{name} ...")
        results[name] = run_case(raw, args.repeat)
    report = {"benchmark": "channels.mail_parse", "limits": mailparse.MailLimits().__dict__,
              "results": results, "machine": benchlib.machine()}
    path = benchlib.write_result("channels", "mail_parse", report)
    for name, r in results.items():
        print(f"{name:22} {r['bytes']:>9} B  median {r['median_ms']:>9} ms  "
              f"p95 {r['p95_ms']:>9} ms  {r['outcome']}")
    print(f"written: {path}")


if __name__ == "__main__":
    main()
