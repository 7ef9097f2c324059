"""Bulk import use cases: upload, the dry run (validate), apply, cancel, and reading an import's state.

Flow: `upload` stores the file (in the database, in 1 MiB chunks, so a worker on any host can read it) and queues
the dry run; the dry run reads every row through the target's schema and use case in a transaction it rolls back,
recording each row's errors and the diff (creates, updates, unchanged); `apply` then writes the rows chunk by chunk,
each chunk in one transaction together with `rows_done`, so a killed worker resumes after the last committed chunk
and never writes a row twice (ADR 0022).

Invariants: in `all_or_nothing` mode nothing is written unless the dry run found every row valid; one import per
kind is busy at a time (a unique partial index); a file already applied for a kind is refused if uploaded again.
"""

from ordersmith.data.imports.service._common import (
    APPLY_JOB,
    MODES,
    VALIDATE_JOB,
    Import,
    Progress,
    RowError,
    import_spec,
    kind_of,
)
from ordersmith.data.imports.service.applying import _apply_job, apply
from ordersmith.data.imports.service.records import (
    abandon_import,
    all_row_errors,
    cancel_import,
    error_lines,
    get_import,
    list_imports,
    request_apply,
    row_errors,
)
from ordersmith.data.imports.service.uploading import upload
from ordersmith.data.imports.service.validation import _validate_job, validate
from ordersmith.platform import jobs


def register() -> None:
    """Register the import jobs (the dry run and the apply) with the job runner."""
    jobs.register(VALIDATE_JOB, _validate_job)
    jobs.register(APPLY_JOB, _apply_job)


__all__ = [
    "APPLY_JOB",
    "MODES",
    "VALIDATE_JOB",
    "Import",
    "Progress",
    "RowError",
    "abandon_import",
    "all_row_errors",
    "apply",
    "cancel_import",
    "error_lines",
    "get_import",
    "import_spec",
    "kind_of",
    "list_imports",
    "register",
    "request_apply",
    "row_errors",
    "upload",
    "validate",
]
