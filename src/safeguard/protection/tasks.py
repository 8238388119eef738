"""Jobs of the protection app: re-encryption after rotation, daily key-age check."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from safeguard.protection import services


@db_task(name="protection.reencrypt")
def reencrypt(job_id: int) -> None:
    """Run or resume one re-encryption job (idempotent: moved rows are skipped)."""
    services.keys_reencrypt(job_id=job_id)


@db_periodic_task(crontab(hour="3", minute="17"), name="protection.keys_age_check")
def keys_age_check() -> None:
    """Daily: flag keys past the rotation policy in the audit log; resume unfinished jobs."""
    services.keys_age_check()
