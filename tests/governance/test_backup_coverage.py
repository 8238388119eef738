"""Every place the code keeps files is either carried by ``safeguard backup`` or deliberately
left out with a written reason (R-DATA-4, R-OPS-11; docs/governance.md "What a backup carries").
The locations are enumerated from the code — the path settings of safeguard/settings.py, every
Django storage, every FileField, every module that writes files — so an app that starts keeping
files without registering a file store (``web.filestores``) fails here, not at a restore."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage, Storage
from django.db import models
from django.test.utils import isolate_apps

import safeguard
import safeguard.settings as project_settings
from safeguard.governance import backup

SRC = Path(safeguard.__file__).parent
PATH_SETTING = re.compile(r"(_DIR|_DIRS|_FILE|_FILES|_PATH|_PATHS|_ROOT|_SINKS)$")
# A call that creates or changes a file on disk.
WRITES = re.compile(r"open\([^)]*['\"][wax]\+?b?['\"]|os\.open\(|\.write_bytes\(|\.write_text\("
                    r"|shutil\.(copy\w*|move)\(|os\.replace\(|default_storage|storages\["
                    r"|mkstemp|NamedTemporaryFile\([^)]*delete=False")
# Each module that writes files -> the file stores or NOT_CARRIED settings it writes into.
WRITERS = {
    "audit/siem/sinks.py": {"SAFEGUARD_SIEM_SINKS"},
    "audit/signing.py": {"SAFEGUARD_AUDIT_KEY_FILE"},
    "audit/tasks.py": {"SAFEGUARD_AUDIT_WITNESS_FILE"},
    "governance/backup.py": {"SAFEGUARD_BACKUP_DIR", "governance_evidence", "privacy_archives"},
    "governance/evidence.py": {"governance_evidence"},
    "ops/demo/channels.py": {"DATA_DIR"},
    "ops/services.py": {"DATA_DIR"},
    "privacy/archive.py": {"privacy_archives"},
    "protection/kek.py": {"SAFEGUARD_DEV_KEK_FILE", "SAFEGUARD_KEK_RUNTIME_DIR"},
    "settings.py": {"DATA_DIR"},
}


def _carried() -> dict[str, Path]:
    return {s.name: s.root().resolve() for s in backup.file_stores()}


def test_every_path_setting_is_carried_or_left_out_with_a_reason():
    carried = {s.setting for s in backup.file_stores()}
    names = {n for n in vars(project_settings) if n.isupper() and PATH_SETTING.search(n)}

    uncovered = sorted(names - carried - set(backup.NOT_CARRIED))

    assert uncovered == [], (f"{uncovered}: register a file store (safeguard.web.filestores) "
                             "so `safeguard backup` carries it, or add it to "
                             "governance.backup.NOT_CARRIED with the reason")
    assert sorted(set(backup.NOT_CARRIED) - names) == []  # no stale reasons
    assert carried & set(backup.NOT_CARRIED) == set()
    assert all(len(reason) > 20 for reason in backup.NOT_CARRIED.values())


def test_the_registered_stores_are_the_evidence_archives_and_default_storage(settings):
    stores = {s.name: s for s in backup.file_stores()}

    assert sorted(stores) == ["governance_evidence", "privacy_archives", "storage_default"]
    assert stores["governance_evidence"].root() == settings.SAFEGUARD_GOVERNANCE_EVIDENCE_DIR
    assert stores["privacy_archives"].root() == settings.SAFEGUARD_ARCHIVE_DIR
    assert stores["storage_default"].root() == Path(settings.DATA_DIR) / "files"
    assert stores["storage_default"].referenced is None


def test_every_django_storage_and_filefield_location_is_carried():
    from django.apps import apps
    from django.core.files.storage import storages

    roots = set(_carried().values())
    for alias in project_settings.STORAGES:
        if alias == "staticfiles":
            continue  # STATIC_ROOT, rebuilt by collectstatic (NOT_CARRIED)
        assert Path(storages[alias].location).resolve() in roots, alias
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                assert isinstance(field.storage, FileSystemStorage), field
                assert Path(field.storage.location).resolve() in roots, field


@isolate_apps("safeguard.governance")
def test_a_new_filefield_gets_its_own_store_and_a_remote_one_is_refused(tmp_path,
                                                                       monkeypatch):
    from django.apps import apps as registry

    installed = registry.get_models()
    class Scan(models.Model):
        report = models.FileField(storage=FileSystemStorage(location=tmp_path / "scans"))

        class Meta:
            app_label = "governance"

        def __str__(self) -> str:
            return "scan"

    class Remote(Storage):
        pass

    class Elsewhere(models.Model):
        blob = models.FileField(storage=Remote())

        class Meta:
            app_label = "governance"

        def __str__(self) -> str:
            return "elsewhere"

    monkeypatch.setattr(backup.apps, "get_models",
                        lambda: [*installed, Scan])
    stores = {s.name: s for s in backup.file_stores()}
    assert stores["filefield_governance.Scan.report"].root() == tmp_path / "scans"

    monkeypatch.setattr(backup.apps, "get_models",
                        lambda: [*installed, Elsewhere])
    with pytest.raises(backup.BackupError, match=r"governance\.Elsewhere\.blob is not a local "
                                                 r"file system storage"):
        backup.file_stores()


def test_every_module_that_writes_files_writes_somewhere_carried_or_left_out():
    writers = {p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")
               if "migrations" not in p.parts and WRITES.search(p.read_text(encoding="utf-8"))}
    known = set(_carried()) | set(backup.NOT_CARRIED)

    assert sorted(writers - set(WRITERS)) == [], (
        "these modules write files: register their directory as a file store "
        "(safeguard.web.filestores) or name the NOT_CARRIED setting it falls under, in WRITERS")
    assert sorted(set(WRITERS) - writers) == []  # no stale entries
    assert {w: t - known for w, t in WRITERS.items() if t - known} == {}
