"""Page forms: they parse and shape input only; every rule lives in the services."""

from __future__ import annotations

from typing import Any

from django import forms

from safeguard.customers.enums import ApprovalKind, CustomerField, VerificationMethod

_REASON_HELP = "Kept with the request (screened) and shown to the supervisor."


class SearchForm(forms.Form):
    """Exact values (blind index) or what masks already show (issue 15); a case number opens
    the case, whose page links to its customer."""

    case_number = forms.IntegerField(required=False, min_value=1, max_value=2**62,
                                     label="Case number")
    email = forms.CharField(required=False, max_length=254, label="E-mail (exact)",
                            widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    phone = forms.CharField(required=False, max_length=40, label="Phone (exact)",
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))
    last4 = forms.RegexField(required=False, regex=r"^\s*\d{4}\s*$", label="Phone: last four",
                             error_messages={"invalid": "Four digits, as the masked phone shows."},
                             widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                           "autocomplete": "off"}))
    initials = forms.RegexField(required=False, regex=r"^\s*[^\W\d_]\.?\s*([^\W\d_]\.?)?\s*$",
                                label="Name initials", max_length=6,
                                error_messages={"invalid": "One or two letters, e.g. J S."},
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))
    city = forms.CharField(required=False, max_length=100, label="City")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(k) for k in ("case_number", "email", "phone", "last4", "initials",
                                          "city")):
            raise forms.ValidationError("Enter a case number, an exact e-mail or phone, or the "
                                        "last four digits, initials or city.")
        return data

    def masked_criteria(self) -> dict[str, str]:
        d = self.cleaned_data
        return {k: d.get(k) or "" for k in ("last4", "initials", "city")}


class CustomerCreateForm(forms.Form):
    name = forms.CharField(required=False, max_length=200)
    email = forms.CharField(required=False, max_length=254, widget=forms.EmailInput())
    phone = forms.CharField(required=False, max_length=40,
                            widget=forms.TextInput(attrs={"type": "tel"}))
    line1 = forms.CharField(required=False, max_length=200, label="Address line 1")
    line2 = forms.CharField(required=False, max_length=200, label="Address line 2")
    postcode = forms.CharField(required=False, max_length=200)
    city = forms.CharField(required=False, max_length=200)
    country = forms.CharField(required=False, max_length=2, help_text="Two letters, e.g. GB")
    date_of_birth = forms.DateField(required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    iban = forms.CharField(required=False, max_length=64, label="Payout IBAN")
    holder = forms.CharField(required=False, max_length=200, label="Account holder")
    language = forms.CharField(required=False, max_length=16, help_text="e.g. en, pt-BR")

    def address(self) -> dict[str, str] | None:
        d = self.cleaned_data
        parts = {k: d[k] for k in ("line1", "line2", "postcode", "city", "country") if d[k]}
        return parts or None

    def payout(self) -> dict[str, str] | None:
        d = self.cleaned_data
        parts = {k: d[k] for k in ("iban", "holder") if d[k]}
        return parts or None


class CustomerEditForm(forms.Form):
    name = forms.CharField(required=False, max_length=200)
    language = forms.CharField(required=False, max_length=16, help_text="e.g. en, pt-BR")


class RevealForm(forms.Form):
    field = forms.ChoiceField(choices=CustomerField.choices, widget=forms.HiddenInput)
    # Not required here: the service judges the reason, so a refused attempt is audited.
    reason = forms.CharField(required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Why you need the clear value. Kept in the record of "
                                       "this reveal.")
    next = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)


class VerifyForm(forms.Form):
    method = forms.ChoiceField(choices=VerificationMethod.choices, label="Verified by")
    interaction_ref = forms.CharField(required=False, max_length=64,
                                      label="Case, call or chat reference")


class _RequestForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_REASON_HELP)

    def change(self) -> dict[str, Any]:
        return {}


class EmailChangeForm(_RequestForm):
    field_order = ("email", "reason")
    email = forms.CharField(max_length=254, widget=forms.EmailInput(), label="New e-mail")

    def change(self) -> dict[str, Any]:
        return {"email": self.cleaned_data["email"]}


class PhoneChangeForm(_RequestForm):
    field_order = ("phone", "reason")
    phone = forms.CharField(max_length=40, label="New phone",
                            widget=forms.TextInput(attrs={"type": "tel"}))

    def change(self) -> dict[str, Any]:
        return {"phone": self.cleaned_data["phone"]}


class AddressChangeForm(_RequestForm):
    field_order = ("line1", "line2", "postcode", "city", "region", "country", "reason")
    line1 = forms.CharField(max_length=200, label="Address line 1")
    line2 = forms.CharField(required=False, max_length=200, label="Address line 2")
    postcode = forms.CharField(required=False, max_length=200)
    city = forms.CharField(max_length=200)
    region = forms.CharField(required=False, max_length=200)
    country = forms.CharField(required=False, max_length=2, help_text="Two letters, e.g. GB")

    def change(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"address": {k: d[k] for k in ("line1", "line2", "postcode", "city", "region",
                                              "country") if d[k]}}


class PayoutChangeForm(_RequestForm):
    field_order = ("iban", "bic", "holder", "reason")
    iban = forms.CharField(max_length=64, label="IBAN")
    bic = forms.CharField(required=False, max_length=16, label="BIC")
    holder = forms.CharField(required=False, max_length=200, label="Account holder")

    def change(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"payout": {k: d[k] for k in ("iban", "bic", "holder") if d[k]}}


class DateOfBirthChangeForm(_RequestForm):
    field_order = ("date_of_birth", "reason")
    date_of_birth = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def change(self) -> dict[str, Any]:
        return {"date_of_birth": self.cleaned_data["date_of_birth"]}


class ClosureForm(_RequestForm):
    pass


class RefundForm(_RequestForm):
    field_order = ("amount", "currency", "case_id", "reason")
    amount = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2)
    currency = forms.CharField(max_length=3, initial="EUR")
    case_id = forms.CharField(required=False, max_length=64, label="Case reference")

    def change(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"amount": d["amount"], "currency": d["currency"], "case_id": d["case_id"]}


REQUEST_FORMS: dict[str, type[_RequestForm]] = {
    ApprovalKind.EMAIL_CHANGE: EmailChangeForm,
    ApprovalKind.PHONE_CHANGE: PhoneChangeForm,
    ApprovalKind.ADDRESS_CHANGE: AddressChangeForm,
    ApprovalKind.PAYOUT_CHANGE: PayoutChangeForm,
    ApprovalKind.DATE_OF_BIRTH_CHANGE: DateOfBirthChangeForm,
    ApprovalKind.ACCOUNT_CLOSURE: ClosureForm,
    ApprovalKind.REFUND: RefundForm,
}


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("grant", "Grant"), ("refuse", "Refuse")],
                                 widget=forms.HiddenInput)
    note = forms.CharField(required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="Optional; kept with the decision.")
