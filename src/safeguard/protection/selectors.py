"""Public reads of the protection app: token metadata and key status (no secret ever)."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from tink.proto import tink_pb2

from safeguard.protection import kek as keks
from safeguard.protection import keyring, rescan, rotation, vault
from safeguard.protection.contracts import (
    JobView,
    KeyInfo,
    KeysError,
    KeysStatus,
    RescanView,
    TokenView,
)
from safeguard.protection.models import KeyVersion, RescanRun, RotationJob, Token


def token_metadata(*, token: str) -> TokenView:
    """Brand, last four and creation time of a token; never the number."""
    return vault.token_get(token=token)


def keys_status(*, jobs: int = 5) -> KeysStatus:
    """Provider, sealed state, every key's age against the rotation policy, recent jobs."""
    days = settings.SAFEGUARD_KEY_ROTATION_DAYS
    master = keyring.master_info()
    recent = tuple(rotation.job_view(j) for j in RotationJob.objects.order_by("-id")[:jobs])
    if master is None:
        return KeysStatus(initialised=False, provider=settings.SAFEGUARD_KEK_PROVIDER,
                          sealed=True, rotation_days=days, created_at=None, jobs=recent)
    sealed = keyring.is_sealed(master)
    created = {(v.keyset, v.key_id): v.created_at for v in KeyVersion.objects.all()}
    now = timezone.now()
    keys: list[KeyInfo] = []
    warnings: list[str] = []
    if master.provider == "dev":
        warnings.append("dev key-encryption key: demo and tests only")
    if not sealed:
        for name in ("data", "fingerprint", "index"):
            try:
                info = keyring.keyset_info(name)
            except KeysError as exc:
                warnings.append(f"{name}: {exc.detail}")
                continue
            for key in info.key_info:
                at = created.get((name, key.key_id))
                age = (now - at).days if at else None
                primary = key.key_id == info.primary_key_id
                keys.append(KeyInfo(keyset=name, key_id=key.key_id, primary=primary,
                                    status=tink_pb2.KeyStatusType.Name(key.status).lower(),
                                    created_at=at, age_days=age,
                                    overdue=bool(primary and age is not None and age >= days)))
    else:
        warnings.append("sealed: key details need the unsealed key")
    return KeysStatus(initialised=True, provider=master.provider, sealed=sealed,
                      rotation_days=days, created_at=master.created_at,
                      threshold=master.threshold, shares=master.shares, kms_uri=master.kms_uri,
                      keys=tuple(keys), jobs=recent, warnings=tuple(warnings))


def key_usage() -> dict[str, dict[int, int]]:
    """Stored values per key id and keyset (reads every encrypted row: `keys status --usage`)."""
    return rotation.usage()


def rescan_latest() -> RescanView | None:
    run = RescanRun.objects.order_by("-id").first()
    return rescan.run_view(run) if run else None


def keys_ready() -> tuple[bool, str]:
    """Can this process use the keys now? (False, why) when not initialised or sealed.

    For readiness probes and the deploy check (issue 17): the dev provider initialises itself
    on first use, so an empty database counts as ready only there.
    """
    master = keyring.master_info()
    if master is None:
        if settings.SAFEGUARD_KEK_PROVIDER == "dev":
            return True, "dev key-encryption key, initialised on first use"
        return False, "not initialised: run `safeguard keys init` (docs/keys.md)"
    try:
        keyring.data_aead()
    except KeysError as exc:
        return False, exc.detail
    return True, f"{master.provider} provider, unsealed"


def kek_runtime_problem() -> str | None:
    """What is wrong with where `keys unseal` leaves the KEK (local provider), or None."""
    return keks.runtime_dir_problem()


def token_count() -> int:
    """How many cards the vault holds (one token per card): a count, for the breach-cost model
    of the metrics app (R-KPI-10); no token or card detail."""
    return Token.objects.count()


def rotation_job_get(*, job_id: int) -> JobView | None:
    """One re-encryption job's progress (rows scanned and rewritten, status), or None."""
    job = RotationJob.objects.filter(id=job_id).first()
    return rotation.job_view(job) if job else None


def keys_open_copy(*, using: str) -> list[str]:
    """Problems opening a restored database copy's keysets with the keys present (empty: they
    open); the governance restore checks this before it swaps a copy in (decision 0276)."""
    return keyring.copy_problems(using=using)
