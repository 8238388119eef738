"""What the demo contact centre's customers and agents write (pure: no Django).

Every value is fictional or reserved for examples: card numbers are the brands' published test
numbers (Luhn-valid, real IIN ranges, so the scanner treats them as real cards), IBANs are the
registries' documentation examples (valid checksums), phone numbers come from the ranges kept
for drama (Ofcom 020 7946 0xxx and 0161 496 0xxx, NANP 555-01xx), e-mail domains are the
reserved example domains. Customers paste card numbers with and without separators, and read
them out in calls the way speech-to-text writes them ("four one one one ...").
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# --- sensitive values ------------------------------------------------------------------------


@dataclass(frozen=True)
class TestCard:
    """A brand's published test card number and how it is grouped when written out."""

    brand: str
    number: str
    groups: tuple[int, ...]


TEST_CARDS: tuple[TestCard, ...] = (
    TestCard("visa", "4111111111111111", (4, 4, 4, 4)),
    TestCard("visa", "4012888888881881", (4, 4, 4, 4)),
    TestCard("visa", "4242424242424242", (4, 4, 4, 4)),
    TestCard("visa", "4000056655665556", (4, 4, 4, 4)),
    TestCard("mastercard", "5555555555554444", (4, 4, 4, 4)),
    TestCard("mastercard", "5105105105105100", (4, 4, 4, 4)),
    TestCard("mastercard", "2223003122003222", (4, 4, 4, 4)),
    TestCard("amex", "378282246310005", (4, 6, 5)),
    TestCard("amex", "371449635398431", (4, 6, 5)),
    TestCard("discover", "6011111111111117", (4, 4, 4, 4)),
    TestCard("discover", "6011000990139424", (4, 4, 4, 4)),
    TestCard("diners", "30569309025904", (4, 6, 4)),
    TestCard("jcb", "3530111333300000", (4, 4, 4, 4)),
    TestCard("jcb", "3566002020360505", (4, 4, 4, 4)),
    TestCard("unionpay", "6200000000000005", (4, 4, 4, 4)),
    TestCard("maestro", "6759649826438453", (4, 4, 4, 4)),
)

# Documentation IBANs of the national registries (valid checksums, no real account behind).
TEST_IBANS: tuple[str, ...] = (
    "GB82WEST12345698765432",
    "GB33BUKB20201555555555",
    "DE89370400440532013000",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "ES9121000418450200051332",
    "IE29AIBK93115212345678",
    "IT60X0542811101000000123456",
)

_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def written(card: TestCard, style: str) -> str:
    """The number as a customer types it: ``plain``, ``spaced`` or ``dashed`` groups."""
    if style == "plain":
        return card.number
    parts, at = [], 0
    for width in card.groups:
        parts.append(card.number[at:at + width])
        at += width
    return ("-" if style == "dashed" else " ").join(parts)


def spoken(card: TestCard, rng: random.Random) -> str:
    """The number as speech-to-text writes it: words in the written groups, "oh" for zero
    now and then, "double five" for a repeated digit now and then."""
    say_oh = rng.random() < 0.5
    say_double = rng.random() < 0.4
    groups, at = [], 0
    for width in card.groups:
        digits = card.number[at:at + width]
        at += width
        words, i = [], 0
        while i < len(digits):
            word = "oh" if digits[i] == "0" and say_oh else _WORDS[int(digits[i])]
            if say_double and i + 1 < len(digits) and digits[i + 1] == digits[i]:
                words.append(f"double {word}")
                i += 2
                continue
            words.append(word)
            i += 1
        groups.append(" ".join(words))
    return ", ".join(groups)


def spaced_iban(iban: str) -> str:
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def drama_phone(rng: random.Random) -> str:
    """Another number a customer gives (drama ranges only, written the ways people write)."""
    n = rng.randrange(1000)
    return rng.choice((f"020 7946 {n:04d}", f"+44 20 7946 {n:04d}", f"0161 496 {n:04d}",
                       f"+1 415 555 {100 + n % 100:04d}", f"(415) 555-{100 + n % 100:04d}"))


# --- topics ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    """One kind of contact: where it is routed and what each side says.

    Placeholders: {first} {name} {order} {amount} {date} {card} {card_spoken} {iban}
    {own_iban} {phone} {other_phone} {agent} {case}. ``sensitive`` names what the customer
    pastes (``card``, ``iban``, ``phone`` or ``""``); ``request`` the supervisor approval the
    agent asks for (a customers ``ApprovalKind``, ``refund``, or ``""``).
    """

    key: str
    queue: str
    subject: str
    email: tuple[str, ...]
    chat: tuple[str, ...]
    call: str
    call_agent: str
    follow_up: tuple[str, ...]
    reply: tuple[str, ...]
    final: tuple[str, ...]
    tags: tuple[str, ...]
    sensitive: str = ""
    request: str = ""


TOPICS: tuple[Topic, ...] = (
    Topic(
        "double_charge", "billing", "Charged twice for order {order}",
        email=(("Hello,\n\nI was charged twice for order {order} ({amount} each time). Both "
                "payments went out on my card {card} on {date}. Can you refund one of them "
                "please?"),
               ("Hi there,\n\nMy statement shows two payments of {amount} for the same order "
                "({order}). Card number is {card} in case you need it to find them.")),
        chat=("hi, I've been charged twice for {order}, card {card}",
              "Hello, two payments of {amount} came out for one order ({order})"),
        call="I've been charged twice for order {order}, {amount} both times.",
        call_agent="I can see both payments. I've refunded the second one; it takes three to "
                   "five working days.",
        follow_up=("Thanks. How long will the refund take to show?",
                   "I still only see one refund pending, is the other one coming too?"),
        reply=(("Thank you for getting in touch. I can see the duplicate payment for {order} "
                "and have refunded {amount}; it will be back on your card within 3-5 working "
                "days."),
               ("Sorry about that. The second payment for {order} was a duplicate and I've "
                "refunded it today ({amount}).")),
        final=("The refund was issued on {date}; most banks show it within five working days.",),
        tags=("refund", "duplicate-payment"), sensitive="card", request="refund"),
    Topic(
        "refund_missing", "billing", "Refund not received for {order}",
        email=(("Hello,\n\nI returned order {order} two weeks ago and still haven't had the "
                "{amount} back. Please pay it into my bank account instead: {own_iban}."),
               ("Hi,\n\nWhere is my refund for {order}? The courier confirmed delivery of the "
                "return on {date}. My account is {own_iban} if that helps.")),
        chat=("my refund for {order} never arrived, can you send it to {own_iban}?",
              "hi, still waiting on a refund of {amount} for {order}"),
        call="I sent back order {order} and I'm still waiting for my {amount}.",
        call_agent="The return arrived on {date}; I've released the refund today.",
        follow_up=("Thanks, has it been sent now?", "Any news on this? It's been a week."),
        reply=(("I'm sorry for the wait. Your return for {order} was checked in and I have "
                "released the refund of {amount} today."),
               ("Thanks for your patience. The refund for {order} had been held by a warehouse "
                "check; it is now on its way ({amount}).")),
        final=("I can confirm the refund has been paid.",),
        tags=("refund", "returns"), sensitive="iban", request="refund"),
    Topic(
        "bank_details", "billing", "Change of bank details",
        email=(("Hello,\n\nPlease take my monthly payment from my new account from now on. "
                "IBAN: {iban}. The account holder is {name}."),
               ("Hi,\n\nI've switched banks. New IBAN {iban}, same name. Please update it "
                "before the next payment on {date}.")),
        chat=("I need to change my bank details, new IBAN is {iban}",
              "hello, can you update my direct debit to {iban}?"),
        call="I've changed banks and need to update my direct debit.",
        call_agent="I've raised the change for a supervisor to approve; you'll get a "
                   "confirmation by e-mail.",
        follow_up=("Has the change gone through yet?",
                   "Just checking you received my new details."),
        reply=(("Thank you. For your security a change of bank details is checked by a "
                "supervisor before it takes effect; I've submitted it and you'll hear from us "
                "once it is approved."),
               ("I've requested the change of payment details; a supervisor approves every "
                "change of bank account before it applies.")),
        final=("The change is with our supervisors and will apply before your next payment.",),
        tags=("payment-details",), sensitive="iban", request="payout_change"),
    Topic(
        "payment_declined", "billing", "Payment keeps getting declined",
        email=(("Hello,\n\nI tried to pay my invoice three times with {card} and it keeps "
                "getting declined. Is something wrong on your side? You can reach me on "
                "{phone}."),
               ("Hi,\n\nYour payment page declines my card ({card}). My bank says there is no "
                "problem with the card. Please call me on {other_phone}.")),
        chat=("payment declined again with card {card}, what's going on?",
              "your checkout keeps saying my card is declined"),
        call="my card keeps getting declined when I try to pay the invoice.",
        call_agent="there was a fault with one of our payment providers this morning; it's "
                   "fixed now, could you try again?",
        follow_up=("I tried again and it worked, thanks.", "Still declined, I'm afraid."),
        reply=(("Sorry for the trouble. We had a fault with one of our payment providers on "
                "{date}; it has been fixed. Could you try again? Please don't send card numbers "
                "by e-mail: we have removed it from our records."),
               ("Thank you for letting us know. The declines were on our side and are fixed "
                "now; please try the payment again.")),
        final=("Glad that worked. I'll close this case now.",),
        tags=("payments", "checkout"), sensitive="card"),
    Topic(
        "invoice_copy", "billing", "Copy of invoice for {order}",
        email=(("Hello,\n\nCould you send me a copy of the invoice for {order}? I need it for "
                "my expenses."),
               "Hi,\n\nI can't find the invoice for {order} in my account. Can you e-mail it?"),
        chat=("can I get a copy of my invoice for {order}?",
              "where do I find invoices in my account?"),
        call="I need a copy of the invoice for {order}.",
        call_agent="I've e-mailed it to the address on your account.",
        follow_up=("Got it, thank you!", "Could you add my company name to it as well?"),
        reply=(("Of course. You'll find the invoice for {order} under Account > Orders; I've "
                "also e-mailed a copy to the address on your account."),),
        final=("I've reissued the invoice with the company name.",),
        tags=("invoice",)),
    Topic(
        "login", "technical", "Can't sign in to my account",
        email=(("Hello,\n\nSince this morning I can't sign in to my account; it says my "
                "password is wrong although I reset it twice. My registered number is {phone} "
                "if you need to call."),
               ("Hi,\n\nThe sign-in page loops back to the start after I enter the code. "
                "Tried two browsers. Call me on {other_phone} please.")),
        chat=("I can't log in, keeps saying wrong password",
              "stuck in a login loop after the code"),
        call="I can't get into my account, the password reset doesn't work.",
        call_agent="I've sent you a fresh reset link; it's valid for thirty minutes.",
        follow_up=("That worked, I'm in. Thanks!", "Still the same problem, sorry."),
        reply=(("Sorry about that. Your account was locked after several attempts; I've "
                "unlocked it. Please use the reset link we just sent (valid for 30 minutes)."),
               ("Thanks for the details. Clearing the site's cookies fixes the loop; if not, "
                "reply and I'll call you.")),
        final=("Great, I'll close this case. Get in touch if it happens again.",),
        tags=("login",), sensitive="phone"),
    Topic(
        "app_crash", "technical", "App crashes on the payments page",
        email=(("Hello,\n\nThe app crashes every time I open the payments page (Pixel 7, app "
                "version 4.12). I even tried re-adding my card {card} but it crashes before "
                "saving."),
               ("Hi,\n\nAfter the last update the app closes as soon as I tap Payments. "
                "iPhone 13, iOS 17.")),
        chat=("app crashes when I open payments, tried adding {card} again",
              "the app keeps closing on the payments screen"),
        call="the app closes every time I open the payments screen.",
        call_agent="it's a known fault in version 4.12; the fix is in 4.13, out tomorrow.",
        follow_up=("Updated and it works now.", "Still crashing after the update."),
        reply=(("Thank you for the report. It's a known fault in version 4.12, fixed in 4.13 "
                "which is rolling out now. Card numbers should only ever go into the app, "
                "never into a message: we have removed it from our records."),
               ("Thanks. Our developers have a fix in version 4.13; please update when it "
                "reaches your store.")),
        final=("Thanks for confirming. Closing this one.",),
        tags=("app", "bug"), sensitive="card"),
    Topic(
        "sms_codes", "technical", "Not receiving verification codes",
        email=(("Hello,\n\nI'm not getting the SMS codes any more. I changed my number to "
                "{other_phone} last month, maybe that's why?"),
               "Hi,\n\nNo verification texts arrive on {phone}. Can you check?"),
        chat=("not getting my sms codes, new number is {other_phone}",
              "verification codes don't arrive"),
        call="I don't get the text message codes any more.",
        call_agent="I've raised the change of number; once approved the codes go to the new "
                   "number.",
        follow_up=("Codes are arriving again, thank you.", "Still nothing, sorry."),
        reply=(("Thanks. A change of phone number is approved by a supervisor before codes go "
                "to the new number; I've raised it for you."),
               "Some networks delay our texts; I've switched your codes to e-mail for now."),
        final=("The codes should arrive normally now.",),
        tags=("mfa", "sms"), sensitive="phone", request="phone_change"),
    Topic(
        "outage", "technical", "Service down?",
        email=("Hello,\n\nIs the service down? Nothing loads since about {date}.",
               "Hi,\n\nI get an error page whenever I open my account."),
        chat=("is the site down?", "error 503 on every page"),
        call="nothing loads on your website.",
        call_agent="we had an outage this morning, it's back now.",
        follow_up=("Working again, thanks.", "Still getting errors."),
        reply=(("Sorry for the disruption: we had an outage this morning and everything is "
                "running again. Please reply if you still see errors."),),
        final=("Thanks for confirming.",),
        tags=("outage",)),
    Topic(
        "unknown_payment", "fraud", "Payment I don't recognise",
        email=(("Hello,\n\nThere's a payment of {amount} to NWD DIGITAL on my card {card} that "
                "I didn't make. Please block the card!"),
               ("URGENT\n\nSomeone used my card {card} on your site on {date} ({amount}). I "
                "never placed that order.")),
        chat=("there's a payment I didn't make on card {card}!!",
              "someone used my card on your site, {amount}"),
        call="there's a payment of {amount} on my card that I didn't make.",
        call_agent="I've cancelled the order, blocked the payment method on your account and "
                   "opened a dispute.",
        follow_up=("Thank you. Do I need to contact my bank as well?",
                   "Has the money been returned yet?"),
        reply=(("Thank you for telling us straight away. I've cancelled order {order}, removed "
                "the card from your account and opened a dispute. Please also call the number "
                "on the back of your card so your bank can replace it."),
               ("We've stopped the order and blocked further payments. Our fraud team will "
                "refund {amount} once the investigation closes.")),
        final=("The dispute is closed in your favour and {amount} has been refunded.",),
        tags=("fraud", "dispute"), sensitive="card", request="refund"),
    Topic(
        "phishing", "fraud", "Suspicious e-mail asking for my card",
        email=(("Hello,\n\nI got an e-mail saying my account is locked and asking me to confirm "
                "my card. I think I typed {card} into the page before I realised. What do I "
                "do?"),
               ("Hi,\n\nIs this e-mail from you? It asks me to re-enter my card details and my "
                "IBAN. I haven't clicked anything.")),
        chat=("got a weird email asking for my card, I may have entered {card}",
              "is an email asking me to confirm my card from you?"),
        call="I got an e-mail asking for my card details and I might have entered them.",
        call_agent="that e-mail wasn't from us. Please call your bank to cancel the card; I've "
                   "secured your account.",
        follow_up=("I've called the bank, card cancelled.", "Thanks, I deleted the e-mail."),
        reply=(("That e-mail was not from us: we never ask for card details by e-mail. If you "
                "entered your card, please call your bank now to cancel it. I've signed your "
                "account out everywhere and reset your password."),
               "Thank you for checking with us. It is a phishing e-mail; please delete it."),
        final=("Thanks for letting us know. Your account is secure.",),
        tags=("phishing",), sensitive="card"),
    Topic(
        "lost_card", "fraud", "Lost card - please remove it",
        email=(("Hello,\n\nI lost my wallet yesterday. The card on my account was {card}. "
                "Please remove it and stop any orders."),
               "Hi,\n\nMy card was stolen. Please take it off my account: {card}."),
        chat=("my card was stolen, please remove {card} from my account",
              "lost my card, can you stop payments?"),
        call="my card was stolen and it's saved on my account.",
        call_agent="I've removed the card and put a hold on new orders for 24 hours.",
        follow_up=("Thanks. I've added my new card in the app.", "Thank you."),
        reply=(("I'm sorry to hear that. I've removed the card from your account and put a "
                "24-hour hold on new orders. Please tell your bank too."),),
        final=("The hold is lifted; your new card works normally.",),
        tags=("lost-card",), sensitive="card"),
    Topic(
        "delivery", "general", "Where is my order {order}?",
        email=(("Hello,\n\nMy order {order} was due on {date} and hasn't arrived. Could you "
                "check with the courier? Call me on {phone} if easier."),
               "Hi,\n\nTracking for {order} hasn't moved for four days."),
        chat=("where is my order {order}? was due {date}",
              "my parcel is late, order {order}"),
        call="my order {order} hasn't arrived yet.",
        call_agent="the courier has it at the local depot; it'll be delivered tomorrow.",
        follow_up=("It arrived today, thank you!", "Still nothing, can you chase them?"),
        reply=(("Thanks for your patience. The courier has your parcel for {order} at the "
                "local depot and will deliver it tomorrow."),
               ("I'm sorry it's late. I've asked the courier to investigate and will update "
                "you within 48 hours.")),
        final=("I've sent a replacement by express delivery.",),
        tags=("delivery",), sensitive="phone"),
    Topic(
        "address_change", "general", "New address",
        email=(("Hello,\n\nI've moved. Please update my address to 12 Harbour View, Bristol "
                "BS1 5TR. My phone is still {phone}."),
               ("Hi,\n\nPlease send future orders to my new address: 4 Mill Road, Leeds LS1 "
                "4AP.")),
        chat=("I moved, can you change my address?",
              "need to update my delivery address please"),
        call="I've moved house and need to change my address.",
        call_agent="I've submitted the change; a supervisor approves it, usually the same day.",
        follow_up=("Has the address been changed?", "Thanks!"),
        reply=(("Thank you. A change of address is approved by a supervisor before it "
                "applies; I've submitted it."),),
        final=("Your new address is on your account now.",),
        tags=("account-update",), request="address_change"),
    Topic(
        "complaint", "general", "Complaint about service",
        email=(("Hello,\n\nI've called three times about {order} and nobody has called me back "
                "on {phone}. This is not good enough."),
               ("Hi,\n\nI want to make a formal complaint about how my order {order} was "
                "handled.")),
        chat=("I want to make a complaint", "nobody ever calls back, order {order}"),
        call="I want to complain, nobody has called me back about {order}.",
        call_agent="I'm sorry. I've logged your complaint and our team lead will call you "
                   "within two working days.",
        follow_up=("Thank you for the call today.", "Still waiting for the call back."),
        reply=(("I'm very sorry about this. I've logged your complaint and our team lead will "
                "call you within two working days. As an apology we've added a {amount} "
                "credit to your account."),),
        final=("Your complaint has been closed with the outcome we discussed.",),
        tags=("complaint",), sensitive="phone"),
    Topic(
        "closure", "general", "Please close my account",
        email=("Hello,\n\nPlease close my account and delete my saved card ({card}).",
               "Hi,\n\nI no longer need my account. Please close it."),
        chat=("please close my account and remove card {card}",
              "how do I close my account?"),
        call="I'd like to close my account.",
        call_agent="I've requested the closure; a supervisor confirms it, and you'll get an "
                   "e-mail.",
        follow_up=("Has my account been closed?", "Thanks."),
        reply=(("Sorry to see you go. I've removed the saved card straight away and requested "
                "the closure of your account, which a supervisor confirms."),),
        final=("Your closure request is being processed.",),
        tags=("closure",), sensitive="card", request="account_closure"),
)

TOPIC_BY_KEY = {t.key: t for t in TOPICS}

SIGN_OFFS = ("\n\nThanks,\n{first}", "\n\nKind regards,\n{name}", ("\n\nThanks\n{first}\n\n"
             "Sent from my phone"), "\n\nBest wishes,\n{name}")

AGENT_SIGN = "\n\nKind regards,\n{agent}\nNorthwind Customer Care"

CHAT_LINES = ("ok thanks", "great, thank you!", "that's perfect", ("ok, and how long will "
              "that take?"), "cool thanks for your help")

CHAT_BLURT = ("can you just take the payment now? card is {card}",
              "here's the card number: {card}")

CSAT_COMMENTS = {
    5: ("Quick and friendly, thank you!", "Sorted in one go. Great service.",
        "Very helpful, {agent} was brilliant."),
    4: ("Good, took a little while.", "Helpful, thanks.", ""),
    3: ("OK in the end but I had to chase.", "Fine.", ""),
    2: ("Took far too long.", "Had to explain everything twice. Call me on {other_phone}."),
    1: ("Nobody listened. Please call me back on {phone}.", "Terrible, still not fixed."),
}

REOPEN_REPLIES = (("I'm sorry it's back. I've looked at it again and fixed the cause this time; "
                   "please let us know if it happens again."),
                  "Thanks for telling us. I've reopened your request and sorted it properly now.")

REOPEN_LINES = ("Sorry, this is happening again.", "It's not fixed, I'm afraid.",
                "The problem is back since this morning.")

AFTER_CLOSE_LINES = ("Hello again, I have another question about {order}.",
                     "Hi, same problem as last time, I'm afraid.")

NOTES = ("Checked the account history; nothing unusual.", "Customer verified by e-mail code.",
         "Asked the second-line team; waiting for their answer.",
         "Customer typed a card number in the thread; it was tokenized on arrival.",
         "Escalated to team lead for a goodwill credit.")

CALL_OPENING = ("Agent: Thank you for calling Northwind, you're speaking with {agent}. How can "
                "I help?\nCustomer: Hi, {call}")
CALL_VERIFY = ("\nAgent: Before we go on, can you confirm your postcode and date of birth?\n"
               "Customer: Yes, of course.\nAgent: Thank you, that's all confirmed.")
CALL_BLURT = ("\nCustomer: Do you need my card? The number is {card_spoken}.\nAgent: Please "
              "stop there: never read your card number out on a recorded line.")
CALL_PAYMENT = ("\nAgent: I'm pausing the recording now while you give me the card details.\n"
                "[recording paused: payment in progress]\nAgent: Thank you, the payment of "
                "{amount} has gone through.")
CALL_CLOSING = ("\nAgent: {call_agent}\nCustomer: Great, thanks.\nAgent: Is there anything "
                "else I can help with today?\nCustomer: No, that's all. Bye.")
MISSED_CALL = ("Hello {first},\n\nSorry we missed your call on {date}: our lines were busy. "
               "How can we help? Just reply to this e-mail.")
API_NOTES = ("Synced from the CRM; order {order} checked and updated.",
             "CRM ticket handled: customer informed by the account manager.")
