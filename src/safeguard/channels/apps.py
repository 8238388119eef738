from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "safeguard.channels"
    label = "channels"
    verbose_name = "Channels"

    def ready(self) -> None:
        # Decision 0006 §3: cases decides what to send, channels deliver it.
        from safeguard.cases import outbound
        from safeguard.channels import checks, mail_out, services

        checks.register()
        outbound.register("email", mail_out.email_send)
        # A web-form customer gave their address: the answer goes out by e-mail.
        outbound.register("web", mail_out.email_send)
        outbound.register("chat", services.chat_deliver)
        # One-time codes that verify a contact go to the address on file by e-mail.
        outbound.register_code_sender(mail_out.code_send)
