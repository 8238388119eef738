"""Forms of the customer-facing pages: shape and length only; rules live in cases.services."""

from __future__ import annotations

from django import forms

MAX_MESSAGE = 5000


class ContactForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField(max_length=254)
    subject = forms.CharField(max_length=200)
    message = forms.CharField(max_length=MAX_MESSAGE, widget=forms.Textarea(attrs={"rows": 8}))
    # A honeypot: hidden from people by CSS, filled in by naive bots.
    website = forms.CharField(required=False, label="Leave this empty",
                              widget=forms.TextInput(attrs={"autocomplete": "off",
                                                            "tabindex": "-1"}))

    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))


class ChatStartForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField(max_length=254)
    message = forms.CharField(max_length=MAX_MESSAGE, widget=forms.Textarea(attrs={"rows": 4}))


class ChatPostForm(forms.Form):
    message = forms.CharField(max_length=MAX_MESSAGE, widget=forms.Textarea(
        attrs={"rows": 3, "data-chat-input": "", "aria-label": "Your message"}),
        label="Your message")
