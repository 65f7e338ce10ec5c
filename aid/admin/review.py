"""The reviewer's side of the pledge admin: what publishing a draft or a pending revision would
change (the diff, on its change page), sending it back to its editors with a note, and
withdrawing pledges."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from aid.diffs import pledge_diff
from aid.models import Pledge
from aid.revisions import pledge_send_back
from aid.services import pledge_withdraw, reason_max_length


class AwaitingReview(admin.SimpleListFilter):
    """The reviewer's queue: new pledges never published, and changes to published ones."""

    title = "awaiting review"
    parameter_name = "awaiting"

    def lookups(self, request, model_admin):
        return [("new", "new pledges"), ("revision", "changes to published pledges")]

    def queryset(self, request, queryset):
        if self.value() == "new":
            return queryset.filter(review=Pledge.Review.DRAFT, revision_of=None)
        if self.value() == "revision":
            return queryset.filter(revision_of__isnull=False)
        return queryset


def ask_for_text(modeladmin, request, queryset, form, action, title, submit, intro):
    """The page a reviewer's action shows first: the pledges it acts on and the text it needs."""
    return TemplateResponse(
        request,
        "admin/aid/pledge/action_with_text.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "action": action,
            "submit": submit,
            "pledges": queryset,
            "form": form,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )


def diff_html(pledge: Pledge):
    """The diff as a small table: one row per changed field, line or source."""
    if not pledge.pk or pledge.review != Pledge.Review.DRAFT:
        return "—"
    diff = pledge_diff(pledge)
    if diff.empty:
        return "No change from the published pledge."
    rows = [("pledge", change.field, change.before, change.after) for change in diff.pledge]
    for row in [*diff.lines, *diff.sources]:
        if not row.changes:
            rows.append((row.key, row.action, "", ""))
        rows += [(row.key, f"{row.action}: {change.field}", change.before, change.after)
                 for change in row.changes]  # fmt: skip
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td><del>{}</del></td><td><ins>{}</ins></td></tr>",
        ((key, what, before or "", after or "") for key, what, before, after in rows),
    )
    return format_html(
        '<table class="pledge-diff"><thead><tr><th>where</th><th>what</th><th>published</th>'
        "<th>after publishing</th></tr></thead><tbody>{}</tbody></table>",
        body,
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="What the editor should change; shown on the pledge.",
    )


@admin.action(
    description="Send selected changes back with a note (reviewers)", permissions=["verify"]
)
def send_back(modeladmin, request, queryset):
    form = NoteForm(request.POST if "note" in request.POST else None)
    if not form.is_valid():
        return ask_for_text(
            modeladmin, request, queryset, form, "send_back", "Send changes back", "Send back",
            "These drafts and pending changes go back to their editors with your note. Nothing "
            "is published; the note shows on each pledge until it is published.",
        )  # fmt: skip
    sent = 0
    for pledge in queryset:
        try:
            pledge_send_back(actor=request.user, pledge=pledge, note=form.cleaned_data["note"])
            sent += 1
        except ValidationError as error:
            modeladmin.message_user(
                request, f"{pledge}: {'; '.join(error.messages)}", messages.ERROR
            )
    modeladmin.message_user(request, f"Sent {sent} change(s) back.", messages.SUCCESS)
    return None


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        max_length=reason_max_length(Pledge),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded in each pledge's history.",
    )


@admin.action(description="Withdraw selected pledges (kept in history)", permissions=["withdraw"])
def withdraw(modeladmin, request, queryset):
    form = WithdrawForm(request.POST if "reason" in request.POST else None)
    if form.is_valid():
        withdrawn = pending = 0
        for pledge in queryset:
            try:
                result = pledge_withdraw(
                    actor=request.user, pledge=pledge, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                modeladmin.message_user(
                    request, f"{pledge}: {'; '.join(error.messages)}", messages.ERROR
                )
                continue
            if result.revision_of_id:  # four eyes: another reviewer publishes it
                pending += 1
            else:
                withdrawn += 1
        waiting = f"; {pending} waiting for another reviewer to publish" if pending else ""
        modeladmin.message_user(
            request, f"Withdrew {withdrawn} pledge(s){waiting}.", messages.SUCCESS
        )
        return None
    return ask_for_text(
        modeladmin, request, queryset, form, "withdraw", "Withdraw pledges", "Withdraw",
        "These pledges will be marked withdrawn once published. They stay in the ledger and in "
        "its history; totals can include or exclude them by status.",
    )  # fmt: skip
