"""Deterministic synthetic contact-centre transcripts with ground-truth spans.

Each transcript alternates agent and customer turns. Some turns carry a sensitive value
(card number, e-mail, phone, IBAN, US SSN, IP address) whose exact span is recorded as
ground truth; others carry hard negatives that look like one of those but are not
(order numbers failing Luhn, UPS/FedEx/USPS tracking numbers, timestamps, Unix times,
amounts, invoice ids, ISBNs, versions, case numbers, invalid IBANs and SSNs) or other
personal data the comparison does not score (dates of birth, routing numbers, NINOs,
CVVs and expiry dates). Everything comes from one seeded `random.Random`.
"""

from __future__ import annotations

import ipaddress
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban as stdnum_iban

SCORED_TYPES = ("PAN", "EMAIL", "PHONE", "IBAN", "US_SSN", "IP_ADDRESS")


@dataclass
class Transcript:
    """One generated conversation and the spans of the values in it."""

    text: str
    spans: list[tuple[str, int, int]] = field(default_factory=list)
    negatives: list[tuple[str, int, int]] = field(default_factory=list)


# ------------------------------------------------------------------------------ values
_DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_CARD_PREFIXES = [
    ("4", 16), ("4", 16), ("4", 16), ("4", 13), ("4", 19), ("51", 16), ("52", 16), ("53", 16),
    ("54", 16), ("55", 16), ("2221", 16), ("2500", 16), ("2720", 16), ("34", 15), ("37", 15),
    ("6011", 16), ("65", 16), ("644", 16), ("3528", 16), ("3589", 16), ("36", 14), ("300", 14),
    ("62", 16), ("62", 19), ("6759", 16), ("5018", 16),
]  # fmt: skip


def _luhn_complete(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return payload + str((10 - total % 10) % 10)


def _random_digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _group(digits: str, sizes: list[int], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(digits[i : i + size])
        i += size
    if i < len(digits):
        parts.append(digits[i:])
    return sep.join(p for p in parts if p)


def card_number(rng: random.Random) -> str:
    """A Luhn-valid card number in a real IIN range, in one of the usual layouts."""
    prefix, length = rng.choice(_CARD_PREFIXES)
    digits = _luhn_complete(prefix + _random_digits(rng, length - len(prefix) - 1))
    roll = rng.random()
    if roll < 0.06:
        return _spoken(rng, digits)
    sep = rng.choice([" ", " ", " ", "-", "-", "", "."]) if roll < 0.9 else ""
    if length == 15:
        return _group(digits, [4, 6, 5], sep)
    if length == 14:
        return _group(digits, [4, 6, 4], sep)
    return _group(digits, [4, 4, 4, 4], sep)


def _spoken(rng: random.Random, digits: str) -> str:
    words: list[str] = []
    i = 0
    while i < len(digits):
        d = digits[i]
        if i + 1 < len(digits) and digits[i + 1] == d and rng.random() < 0.5:
            words.append("double " + _DIGIT_WORDS[int(d)])
            i += 2
            continue
        words.append("oh" if d == "0" and rng.random() < 0.5 else _DIGIT_WORDS[int(d)])
        i += 1
    sep = rng.choice([" ", " ", ", "])
    return sep.join(words)


def non_luhn_card_like(rng: random.Random) -> str:
    """An order number shaped like a card number that fails the Luhn check."""
    prefix, length = rng.choice(_CARD_PREFIXES)
    good = _luhn_complete(prefix + _random_digits(rng, length - len(prefix) - 1))
    bad = good[:-1] + str((int(good[-1]) + rng.randint(1, 9)) % 10)
    return _group(bad, [4, 4, 4, 4], rng.choice([" ", "-", ""]))


_FIRST = [
    "john",
    "mary",
    "aisha",
    "wei",
    "carlos",
    "fatima",
    "olga",
    "james",
    "priya",
    "liam",
    "noah",
    "emma",
    "sofia",
    "lucas",
    "chloe",
    "omar",
    "yuki",
    "hannah",
    "mateo",
    "zoe",
]
_LAST = [
    "smith",
    "jones",
    "garcia",
    "chen",
    "patel",
    "novak",
    "okafor",
    "brown",
    "kim",
    "silva",
    "murphy",
    "rossi",
    "muller",
    "dubois",
    "nguyen",
    "haddad",
    "larsen",
    "walsh",
]
_DOMAINS = [
    "example.com", "mail.example.org", "gmail.com", "outlook.com", "yahoo.co.uk",
    "company.io", "post.example.de", "uni.example.edu", "fastmail.fm", "icloud.com",
]  # fmt: skip


def email(rng: random.Random) -> str:
    """A plausible personal or work address."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    local = rng.choice([
        f"{first}.{last}", f"{first}{last}{rng.randint(1, 99)}", f"{first[0]}{last}",
        f"{first}_{last}", f"{first}.{last}+orders", f"{last}.{first}{rng.randint(70, 99)}",
    ])  # fmt: skip
    address = f"{local}@{rng.choice(_DOMAINS)}"
    return address.upper() if rng.random() < 0.03 else address


_NANP_AREAS = ["212", "213", "305", "312", "415", "503", "602", "617", "646", "702", "713",
               "718", "801", "808", "917", "206", "303", "404", "512", "614"]  # fmt: skip


def phone(rng: random.Random) -> str:
    """A number libphonenumber considers valid, written the way people write it."""
    while True:
        kind = rng.random()
        if kind < 0.5:
            region = "US"
            raw = rng.choice(_NANP_AREAS) + str(rng.randint(2, 9)) + _random_digits(rng, 6)
        elif kind < 0.8:
            region = "GB"
            prefix = rng.choice(["020", "0161", "0113", "0131", "07", "07"])
            raw = prefix + _random_digits(rng, 11 - len(prefix))
        else:
            region = rng.choice(["DE", "FR", "IE", "AU", "ES", "NL"])
            example = phonenumbers.example_number(region)
            assert example is not None
            national = str(example.national_number)
            raw = national[:2] + _random_digits(rng, len(national) - 2)
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(number):
            continue
        fmt = rng.random()
        if region not in ("US", "GB") or fmt < 0.25:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        if fmt < 0.3:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        if region == "US" and fmt > 0.6:
            nsn = str(number.national_number)
            sep = rng.choice(["-", ".", " "])
            return f"{nsn[:3]}{sep}{nsn[3:6]}{sep}{nsn[6:]}"
        return national


_IBAN_COUNTRIES = ["GB", "DE", "FR", "NL", "IT", "ES", "BE", "CH", "AT", "IE", "PL", "SE", "DK"]


def iban(rng: random.Random) -> str:
    """A valid IBAN (mod 97, length, BBAN structure) spaced, compact or lower-case."""
    while True:
        country = rng.choice(_IBAN_COUNTRIES)
        structure = {
            "GB": "AAAA" + "9" * 14, "DE": "9" * 18, "FR": "9" * 10 + "C" * 11 + "99",
            "NL": "AAAA" + "9" * 10, "IT": "A" + "9" * 10 + "C" * 12, "ES": "9" * 20,
            "BE": "9" * 12, "CH": "9" * 5 + "C" * 12, "AT": "9" * 16, "IE": "AAAA" + "9" * 14,
            "PL": "9" * 24, "SE": "9" * 20, "DK": "9" * 14,
        }[country]  # fmt: skip
        bban = "".join(
            rng.choice(string.ascii_uppercase) if c == "A"
            else rng.choice(string.digits) if c == "9"
            else rng.choice(string.digits + string.ascii_uppercase)
            for c in structure
        )  # fmt: skip
        check = stdnum_iban.calc_check_digits(country + "00" + bban)
        compact = country + check + bban
        if not stdnum_iban.is_valid(compact):
            continue
        roll = rng.random()
        if roll < 0.6:
            return stdnum_iban.format(compact)
        if roll < 0.9:
            return compact
        return (stdnum_iban.format(compact) if roll < 0.95 else compact).lower()


def invalid_iban(rng: random.Random) -> str:
    """An IBAN-shaped reference with wrong check digits."""
    good = stdnum_iban.compact(iban(rng))
    check = f"{(int(good[2:4]) + rng.randint(1, 50)) % 97 + 2:02d}"
    return stdnum_iban.format(good[:2] + check + good[4:])


def ssn(rng: random.Random) -> str:
    """A US SSN that follows the structure rules, dashed, spaced or compact."""
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    digits = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
    roll = rng.random()
    if roll < 0.75:
        return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
    if roll < 0.9:
        return f"{digits[:3]} {digits[3:5]} {digits[5:]}"
    return digits


def invalid_ssn(rng: random.Random) -> str:
    """SSN-shaped but impossible: area 000, 666 or 9xx, group 00 or serial 0000."""
    area = rng.choice(["000", "666", f"9{rng.randint(0, 99):02d}"])
    return f"{area}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"


def ip_address(rng: random.Random) -> str:
    """IPv4 (public and private) or IPv6 (compressed or full)."""
    if rng.random() < 0.7:
        first = rng.choice([10, 172, 192, 8, 34, 52, 81, 104, 151, 203])
        return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    groups = [0x2001, 0xDB8] + [rng.choice([0, 0, rng.randint(0, 0xFFFF)]) for _ in range(6)]
    address = ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups))
    return address.compressed if rng.random() < 0.8 else address.exploded


# ------------------------------------------------------------------------------ negatives
def _ups(rng: random.Random) -> str:
    body = "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(6))
    return f"1Z{body}{_random_digits(rng, 10)}"


def _isbn13(rng: random.Random) -> str:
    core = "978" + _random_digits(rng, 9)
    check = (10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(core)) % 10) % 10
    full = core + str(check)
    return f"{full[:3]}-{full[3]}-{full[4:8]}-{full[8:12]}-{full[12]}"


def _isbn10(rng: random.Random) -> str:
    core = _random_digits(rng, 9)
    check = sum((10 - i) * int(c) for i, c in enumerate(core)) % 11
    digit = "X" if (11 - check) % 11 == 10 else str((11 - check) % 11)
    return f"{core[0]}-{core[1:4]}-{core[4:9]}-{digit}"


def _timestamp(rng: random.Random) -> str:
    day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    clock = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    return rng.choice([f"{day} {clock}", f"{day}T{clock}Z", f"{day} {clock[:5]}"])


def _amount(rng: random.Random) -> str:
    whole = rng.randint(1, 99999)
    cents = rng.randint(0, 99)
    return rng.choice([f"${whole:,}.{cents:02d}", f"£{whole:,}.{cents:02d}",
                       f"€{whole}.{cents:02d}", f"USD {whole:,}.{cents:02d}"])  # fmt: skip


def _aba(rng: random.Random) -> str:
    while True:
        payload = rng.choice(["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11",
                              "12", "21", "26", "31", "32"]) + _random_digits(rng, 6)  # fmt: skip
        for last in string.digits:
            d = [int(c) for c in payload + last]
            if (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0:
                return payload + last


NEGATIVES = {
    "order": non_luhn_card_like,
    "order_short": lambda r: _random_digits(r, r.randint(7, 9)),
    "ups": _ups,
    "fedex": lambda r: r.choice([_random_digits(r, 12), "0" + _random_digits(r, 14)]),
    "usps": lambda r: _group("9400" + _random_digits(r, 18), [4, 4, 4, 4, 4, 2], " "),
    "timestamp": _timestamp,
    "epoch": lambda r: str(r.randint(1_600_000_000, 1_750_000_000)) + r.choice(["", "123"]),
    "amount": _amount,
    "invoice": lambda r: r.choice(
        [
            f"INV-2024-{r.randint(1, 999999):06d}",
            f"INV{r.randint(10**8, 10**9)}",
            f"2024-{r.randint(10000, 99999)}",
        ]
    ),
    "isbn": lambda r: r.choice([_isbn13(r), _isbn10(r)]),
    "version": lambda r: f"{r.randint(1, 20)}.{r.randint(0, 9)}.{r.randint(0, 30000)}",
    "case": lambda r: f"{r.randint(10**7, 10**8 - 1)}",
    "invalid_iban": invalid_iban,
    "invalid_ssn": invalid_ssn,
}

# Template sentences: {X} is a slot; "#" marks a turn by the customer, "@" by the agent.
_VALUE_TEMPLATES = {
    "PAN": ["My card number is {X}.", "It's {X}.", "Sure, the card is {X}, expiry {EXP}.",
            "ok it's {X} and the security code is {CVV}", "{X}", "the long number is {X}",
            "visa {X} expires {EXP}", "I'd like to pay with {X} please.",
            "card ending, well the whole thing is {X}"],
    "EMAIL": ["My email is {X}.", "You can send it to {X}", "it's {X}", "{X}",
              "Please update my address to {X} thanks", "email me at {X}."],
    "PHONE": ["You can reach me on {X}.", "my number is {X}", "call me back at {X} after five",
              "{X}", "The best number is {X}, it's my mobile.", "or try my work line {X}"],
    "IBAN": ["Please refund it to {X}.", "my IBAN is {X}", "the account is {X}",
             "Transfer to {X} please", "{X} is the bank account"],
    "US_SSN": ["My social security number is {X}.", "SSN {X}", "it's {X}", "the last one was {X}",
               "for verification, {X}"],
    "IP_ADDRESS": ["I'm connecting from {X}.", "the router shows {X}", "my IP address is {X}",
                   "it says server {X} not responding", "the VPN gave me {X} today"],
}  # fmt: skip
_NEGATIVE_TEMPLATES = {
    "order": ["My order number is {X}.", "order {X} still hasn't shipped", "ref {X}"],
    "order_short": ["order number {X}", "my order is #{X}", "it's order {X}"],
    "ups": ["The UPS tracking number is {X}.", "tracking {X}"],
    "fedex": ["FedEx tracking {X}", "the FedEx number is {X}", "tracking number {X}"],
    "usps": ["USPS tracking says {X}", "tracking {X}"],
    "timestamp": ["it was delivered at {X}", "the log shows {X}", "last login {X}"],
    "epoch": ["the app shows timestamp {X}", "error at {X}"],
    "amount": ["the charge was {X}", "I paid {X} last week", "a refund of {X}"],
    "invoice": ["invoice {X}", "the invoice number is {X}", "see invoice {X} attached"],
    "isbn": ["the book's ISBN is {X}", "ISBN {X}", "I ordered {X}, the hardcover"],
    "version": ["I'm on app version {X}", "build {X}"],
    "case": ["your case number is {X}", "ticket {X}"],
    "invalid_iban": ["the reference on the statement is {X}", "reference {X}"],
    "invalid_ssn": ["the form example shows {X}", "sample id {X}"],
}  # fmt: skip
_OTHER_PII = [
    "I was born on {DOB}.",
    "my date of birth is {DOB}",
    "routing number {ABA}",
    "the ABA is {ABA}",
    "my national insurance number is {NINO}",
]

_AGENT = [
    "Thank you for calling {COMPANY}, my name is {AGENT}.",
    "How can I help you today?",
    "This call may be recorded for quality and training purposes.",
    "Can I have your full name please?",
    "Thanks, let me pull up your account.",
    "Just bear with me while the system loads.",
    "I can see the order here, it was dispatched on Monday.",
    "I'll put you on a brief hold.",
    "Thanks for holding, I appreciate your patience.",
    "I completely understand how frustrating that must be.",
    "For security, can you confirm a few details for me?",
    "I've added a note so the next agent can see it.",
    "You should receive a confirmation email within the next hour.",
    "The refund can take up to 10 working days to appear.",
    "Our technical team is aware of the issue and working on a fix.",
    "Let me check with my supervisor, one moment please.",
    "I'll send you a text message with a link to reset it.",
    "I can offer you a 15 percent discount on the next 3 months.",
    "We've had a lot of calls about this today.",
    "Would you like me to book an engineer visit?",
    "The earliest slot is Thursday between 8 and 12.",
    "That should arrive within 3 to 5 business days.",
    "Our opening hours are 9 to 5, Monday to Friday.",
    "Let me transfer you to billing.",
    "Is there anything else I can help with?",
]
_CUSTOMER = [
    "Hi, I'm calling about my order.",
    "I was charged twice last month.",
    "The package never arrived.",
    "Yes, that's right.",
    "No, that's the old one.",
    "Can you check whether the refund went through?",
    "I moved house in March.",
    "It was about 2 weeks ago, maybe 15 days.",
    "I've been on hold for 40 minutes.",
    "It's been like this since the update last Tuesday.",
    "I tried restarting it twice already.",
    "My husband set up the account, it might be under his name.",
    "I'm not sure, let me check the letter you sent.",
    "Okay, hang on, I need to find my glasses.",
    "That's fine, Thursday works for me.",
    "Can you just send it by email instead?",
    "I don't want to pay for something I didn't order.",
    "The website said it was in stock.",
    "Honestly I just want it sorted out.",
    "I have 3 accounts with you, it's the second one.",
    "Sorry, can you repeat that?",
    "The app keeps crashing when I open settings.",
    "I'd like to cancel my subscription.",
    "Thanks, that's really helpful.",
]
_COMPANIES = ["Acme Telecom", "Northwind", "Globex Bank", "Initech", "Umbrella Insurance"]
_AGENTS = ["Sarah", "Tom", "Priya", "Ahmed", "Lena", "Marco"]


def _nino(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    digits = _random_digits(rng, 6)
    return f"{first}{second} {digits[:2]} {digits[2:4]} {digits[4:]} {rng.choice('ABCD')}"


def _fill(rng: random.Random, template: str) -> str:
    month = rng.choice(["January", "March", "June", "September", "November"])
    values = {
        "{EXP}": f"{rng.randint(1, 12):02d}/{rng.randint(25, 31)}",
        "{CVV}": _random_digits(rng, 3),
        "{DOB}": rng.choice(
            [
                f"{rng.randint(1, 28)} {month} {rng.randint(1940, 2005)}",
                f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1940, 2005)}",
            ]
        ),
        "{ABA}": _aba(rng),
        "{NINO}": _nino(rng),
        "{COMPANY}": rng.choice(_COMPANIES),
        "{AGENT}": rng.choice(_AGENTS),
    }
    for key, value in values.items():
        template = template.replace(key, value)
    return template


_PROMPTS = {
    "PAN": [
        "What card would you like to use today?",
        "Can I take the long number on the card?",
        "Please read me the card number when you're ready.",
    ],
    "EMAIL": ["What's the best email address for you?", "Can I confirm your email?"],
    "PHONE": ["What's the best number to reach you on?", "Can I get a callback number?"],
    "IBAN": ["Which account should the refund go to?", "Can you give me your IBAN?"],
    "US_SSN": [
        "Can I have your social security number to verify?",
        "For verification, what's your SSN?",
    ],
    "IP_ADDRESS": [
        "What IP address does the router show?",
        "What address are you connecting from?",
    ],
}
PROMPT_RATE = 0.7


@dataclass(frozen=True)
class Profile:
    """How a generated conversation is shaped: its length and how often values appear."""

    name: str
    exchanges: tuple[int, int]  # agent/customer exchanges per transcript
    value_rate: float  # share of exchanges whose customer turn gives a scored value
    negative_rate: float  # share of turns carrying a hard negative
    other_rate: float  # share of turns with unscored personal data (DOB, routing, NINO)
    sentences: tuple[int, int]  # everyday sentences per turn besides any value


PROFILES = {
    # Calls of 2-6 minutes as transcribed: multi-sentence turns, a value every 8 exchanges.
    "realistic": Profile("realistic", (10, 30), 0.12, 0.10, 0.03, (1, 4)),
    # A stress test: one short sentence per turn, a value in a third of the exchanges.
    "dense": Profile("dense", (4, 12), 0.33, 0.25, 0.08, (0, 1)),
}


def _special(
    rng: random.Random, profile: Profile, speaker: str, value_kind: str | None
) -> tuple[str, str | None, str | None]:
    """(template, scored kind, negative kind) of the one non-filler sentence of a turn."""
    if speaker == "Customer" and value_kind is not None:
        return rng.choice(_VALUE_TEMPLATES[value_kind]), value_kind, None
    if speaker == "Agent" and value_kind is not None and rng.random() < PROMPT_RATE:
        return rng.choice(_PROMPTS[value_kind]), None, None
    if rng.random() < profile.negative_rate:
        negative = rng.choice(list(NEGATIVES))
        return rng.choice(_NEGATIVE_TEMPLATES[negative]), None, negative
    if rng.random() < profile.other_rate:
        return rng.choice(_OTHER_PII), None, None
    return "", None, None


def transcript(rng: random.Random, profile: Profile) -> Transcript:
    """One conversation shaped by ``profile``; values and negatives with their spans.

    The agent usually asks before the customer gives a value, as agents do; the value sits
    among everyday sentences of the same turn in the realistic profile.
    """
    out = Transcript(text="")
    parts: list[str] = []
    size = 0
    for _ in range(rng.randint(*profile.exchanges)):
        value_kind = rng.choice(SCORED_TYPES) if rng.random() < profile.value_rate else None
        for speaker in ("Agent", "Customer"):
            special, kind, negative = _special(rng, profile, speaker, value_kind)
            pool = _CUSTOMER if speaker == "Customer" else _AGENT
            count = rng.randint(*profile.sentences)
            if not special and count == 0:
                count = 1
            sentences = [_fill(rng, rng.choice(pool)) for _ in range(count)]
            if special:
                if special[-1] not in ".?!" and rng.random() < 0.7:
                    special += "."  # speech-to-text punctuates most sentences, not all
                is_prompt = kind is None and negative is None and speaker == "Agent"
                at = len(sentences) if is_prompt else rng.randint(0, len(sentences))
                sentences.insert(at, special)
            line = f"{speaker}: "
            for sentence in sentences:
                if line[-1] != " ":
                    line += " "
                if "{X}" in sentence:
                    before, after = _fill(rng, sentence).split("{X}", 1)
                    maker = _VALUE_MAKERS[kind] if kind is not None else NEGATIVES[negative or ""]
                    value = maker(rng)
                    start = size + len(line) + len(before)
                    record = (kind or negative or "", start, start + len(value))
                    (out.spans if kind is not None else out.negatives).append(record)
                    line += before + value + after
                else:
                    line += _fill(rng, sentence)
            line += "\n"
            parts.append(line)
            size += len(line)
    out.text = "".join(parts)
    for kind, start, end in out.spans:
        assert 0 <= start < end <= len(out.text), kind
    return out


_VALUE_MAKERS: dict[str, Callable[[random.Random], str]] = {
    "PAN": card_number,
    "EMAIL": email,
    "PHONE": phone,
    "IBAN": iban,
    "US_SSN": ssn,
    "IP_ADDRESS": ip_address,
}


def generate(*, seed: int, count: int, profile: str = "realistic") -> list[Transcript]:
    """``count`` transcripts from ``seed``; the same arguments always give the same corpus."""
    rng = random.Random(seed)
    shape = PROFILES[profile]
    return [transcript(rng, shape) for _ in range(count)]
