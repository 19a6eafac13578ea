"""What the customer's pages and the back-office's share: a draft from the form, the page's
figures, the progress answer and the results file."""

from __future__ import annotations

from flask import Response

from app.audit.services import Actor
from app.batches import parsing, results, services
from app.batches.forms import BatchForm
from app.batches.models import BATCH_LABELS, ROW_LABELS, SOURCE_LABELS, Batch
from app.customers import balance
from app.i18n import translate


def draft_from_form(
    store, customer_id: int, form: BatchForm, *, actor: Actor, created_by: str = ""
) -> Batch | None:
    """Read and check the form's file or lines into a draft; None (the error on the form) when
    the input cannot be read at all."""
    upload = form.upload(services.max_file_bytes())
    try:
        if upload is not None:
            file_name, data = upload
            raw_rows = services.rows_from_upload(file_name, data)
            source = "upload"
        else:
            file_name, source = "", "paste"
            raw_rows = services.rows_from_text(form.text.data or "")
    except parsing.BatchFileError as error:
        target = form.file if upload is not None else form.text
        target.errors = [*target.errors, translate(error.message, **error.params)]
        return None
    checked = services.check_rows(store, customer_id, raw_rows)
    return services.save_draft(
        store, customer_id, checked, source=source, actor=actor, file_name=file_name,
        created_by=created_by,
    )  # fmt: skip


def page_context(store, batch: Batch) -> dict:
    progress = services.progress(batch)
    return {
        "batch": batch,
        "progress": progress,
        "result_rows": services.result_rows(batch),
        "row_labels": {key: translate(label) for key, label in ROW_LABELS.items()},
        "batch_label": translate(BATCH_LABELS[batch.status]),
        "source_label": translate(SOURCE_LABELS.get(batch.source, batch.source)),
        "batch_error": translate(batch.error, **(batch.error_params or {})) if batch.error else "",
        "row_message": results.row_message,
        "balance_cents": balance.balance_cents(store.id, batch.customer_id, batch.currency),
        "invalid_count": batch.row_count - batch.valid_count,
        "is_live": batch.status in ("queued", "processing"),
    }


def confirm(store, batch: Batch, form, *, actor: Actor) -> str:
    """Confirm from the draft page's form; an empty string, or why it was refused."""
    try:
        services.confirm(store, batch, skip_invalid=form.get("skip_invalid") == "1", actor=actor)
    except services.BatchError as error:
        return translate(error.message, **error.params)
    return ""


def discard(batch: Batch) -> str:
    """Discard a draft; an empty string, or why it was refused."""
    try:
        services.discard(batch)
    except services.BatchError as error:
        return translate(error.message, **error.params)
    return ""


def progress_answer(store, batch: Batch) -> tuple[dict, int, dict]:
    services.redrive_if_stuck(store, batch)
    state = services.progress(batch).as_dict()
    label = BATCH_LABELS[state["status"]]
    state["label"] = translate(label)
    return state, 200, {"Cache-Control": "no-store"}


def results_file(batch: Batch, file_format: str) -> Response:
    return Response(
        results.render(batch, file_format),
        mimetype=results.MIMETYPES[file_format],
        headers={
            "Content-Disposition": f'attachment; filename="{results.file_name(batch, file_format)}"'
        },
    )


def labels() -> dict:
    return {key: translate(label) for key, label in BATCH_LABELS.items()}
