"""Data entry for pledges. The admin parses and renders; saving goes through `aid.services`."""

from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef
from django.http import HttpResponseRedirect
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from aid.admin import lines as admin_lines
from aid.admin import review
from aid.codes import currency_choices
from aid.models import Category, ItemAlias, ItemType, Line, Official, Party, Pledge
from aid.revisions import PendingExists, check_no_pending
from aid.rules import DEFAULT_RECIPIENT
from aid.selectors import visible_pledges
from aid.services import (
    StalePledge,
    check_not_withdrawn_by_save,
    check_version,
    official_save,
    pledge_save,
    pledges_verify,
)
from sources.models import PledgeSource, Source


@admin.register(Party)
class PartyAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "kind"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    ordering = ["name"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Official)
class OfficialAdmin(SimpleHistoryAdmin):
    list_display = ["name", "party", "title"]
    list_select_related = ["party"]
    search_fields = ["name", "title", "party__name", "party__code"]
    autocomplete_fields = ["party"]

    def save_model(self, request, obj, form, change):
        official_save(actor=request.user, official=obj)


@admin.register(Category)
class CategoryAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "slug", "aid_type", "un_register"]
    list_select_related = ["parent"]
    list_filter = ["aid_type", "un_register", ("parent", admin.EmptyFieldListFilter)]
    search_fields = ["name", "slug", "parent__name"]
    autocomplete_fields = ["parent"]
    prepopulated_fields = {"slug": ["name"]}

    def get_search_results(self, request, queryset, search_term):
        # Autocomplete lists level-1 categories before their children, as a tree reads.
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        return queryset.select_related("parent").order_by("parent__slug", "slug"), duplicates


class ItemAliasInline(admin.TabularInline):
    model = ItemAlias
    extra = 2


@admin.register(ItemType)
class ItemTypeAdmin(SimpleHistoryAdmin):
    list_display = ["name", "category", "default_unit", "alias_list"]
    list_select_related = ["category__parent"]
    list_filter = [("category", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "aliases__alias"]
    autocomplete_fields = ["category"]
    inlines = [ItemAliasInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("aliases")

    @admin.display(description="aliases")
    def alias_list(self, item_type):
        return ", ".join(alias.alias for alias in item_type.aliases.all())


class LineForm(forms.ModelForm):
    currency = forms.ChoiceField(
        choices=[("", "—"), *currency_choices()], required=False, label="currency"
    )

    class Meta:
        model = Line
        fields = [
            "description", "item_type", "category", "quantity", "quantity_qualifier", "unit",
            "value", "currency", "value_basis",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Most values an editor types are the source's own figure.
        self.fields["value_basis"].initial = Line.ValueBasis.STATED

    def clean(self):
        """The default basis goes with a value: left as it was on a line without one, it is not
        the editor's claim, so it is cleared rather than refused (aid.rules.value_basis)."""
        cleaned = super().clean()
        if cleaned.get("value") is None and "value_basis" not in self.changed_data:
            cleaned["value_basis"] = ""
        return cleaned


class AtLeastMinNum:
    """The service refuses a pledge without a line or a source: ticking "delete" on the last one
    must be an error on the form, not a server error, so the admin enforces `min_num` too."""

    def get_formset(self, request, obj=None, **kwargs):
        return super().get_formset(request, obj, validate_min=True, **kwargs)


class LineInline(AtLeastMinNum, admin.TabularInline):
    model = Line
    form = LineForm
    extra = 1
    min_num = 1
    autocomplete_fields = ["item_type", "category"]
    verbose_name = "line: one item of the pledge"
    verbose_name_plural = "lines: what was pledged (value lives here)"

    def get_extra(self, request, obj=None, **kwargs):
        return 2 if obj is None else 1


class SourceLinkInline(AtLeastMinNum, admin.TabularInline):
    model = PledgeSource
    extra = 1
    min_num = 1
    autocomplete_fields = ["source"]
    fields = ["source", "role", "quote"]
    verbose_name = "source"
    verbose_name_plural = "sources: where this pledge is reported"
    # A quote is a sentence or two; a short box keeps the form scannable.
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 50})}
    }


class CategoryFilter(admin.SimpleListFilter):
    """Level-1 categories; choosing one includes pledges with a line in any of its children."""

    title = "category"
    parameter_name = "category"

    def lookups(self, request, model_admin):
        return Category.objects.filter(parent=None).values_list("slug", "name")

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        lines = Line.objects.filter(pledge=OuterRef("pk"))
        in_category = lines.filter(category__slug=self.value()) | lines.filter(
            category__parent__slug=self.value()
        )
        return queryset.filter(Exists(in_category))


class SourceKindFilter(admin.SimpleListFilter):
    title = "source kind"
    parameter_name = "source_kind"

    def lookups(self, request, model_admin):
        return Source.Kind.choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        links = PledgeSource.objects.filter(pledge=OuterRef("pk"), source__kind=self.value())
        return queryset.filter(Exists(links))


class PledgeForm(forms.ModelForm):
    """The pledge's fields, and the version the editor opened, so that a save over someone
    else's newer changes is refused with the editor's input kept on the form."""

    # Not the model's field (which is not editable): the version this form was rendered from.
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Pledge
        fields = [
            "donor", "recipient", "announced_on", "date_precision", "official", "official_title",
            "package", "status", "notes",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["loaded_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and cleaned.get("loaded_version") is not None:
            self.instance.version = cleaned["loaded_version"]
            # The admin validates and saves in one transaction: the lock holds until the save.
            stored = Pledge.objects.select_for_update().get(pk=self.instance.pk)
            try:
                check_version(self.instance, stored)
                if stored.review == Pledge.Review.VERIFIED:
                    check_no_pending(stored)
            except StalePledge as error:
                raise forms.ValidationError(error.messages, code="stale") from error
            except PendingExists as error:
                raise forms.ValidationError(error.messages, code="pending") from error
        if cleaned.get("status"):
            # Until `_post_clean`, the instance holds the stored fields.
            stored = self.instance if self.instance.pk else None
            try:
                check_not_withdrawn_by_save(Pledge(status=cleaned["status"]), stored)
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(Pledge)
class PledgeAdmin(SimpleHistoryAdmin):
    form = PledgeForm
    list_display = [
        "announced", "donor", "official", "lines_summary", "total_value", "status", "review",
        "ref",
    ]  # fmt: skip
    list_display_links = ["announced"]
    list_select_related = ["donor", "recipient", "official__party"]  # Official.__str__ shows party
    list_filter = [
        ("donor", admin.RelatedOnlyFieldListFilter),
        CategoryFilter,
        "status",
        "review",
        review.AwaitingReview,
        SourceKindFilter,
        ("announced_on", admin.DateFieldListFilter),
        "date_precision",
    ]
    list_per_page = 50
    show_full_result_count = False
    date_hierarchy = "announced_on"
    search_fields = [
        "ref", "package", "lines__description", "official__name",
        "source_links__source__title", "source_links__source__url",
    ]  # fmt: skip
    search_help_text = "Searches item text, official, package, reference, source title and URL."
    autocomplete_fields = ["donor", "recipient", "official"]
    readonly_fields = [
        "ref", "created_at", "updated_at", "review", "reviewed_by", "reviewed_at", "review_note",
        "revision_of", "changes_to_publish",
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": [("donor", "recipient"), ("announced_on", "date_precision")]}),
        ("Who announced it", {"fields": [("official", "official_title")]}),
        (None, {"fields": [("package", "status"), "notes", "loaded_version"]}),
        (
            "Review",
            {
                "fields": [
                    ("review", "reviewed_by", "reviewed_at"),
                    "revision_of",
                    "review_note",
                    "changes_to_publish",
                ]
            },
        ),
        ("Record", {"fields": [("ref", "created_at", "updated_at")], "classes": ["collapse"]}),
    ]
    inlines = [LineInline, SourceLinkInline]
    actions = ["verify", review.send_back, review.withdraw, admin_lines.export_lines]
    object_history_template = "admin/aid/pledge/object_history.html"

    class Media:
        css = {"all": ["aid/pledge-form.css"]}

    def get_queryset(self, request):
        pledges = super().get_queryset(request) & visible_pledges(request)
        return pledges.prefetch_related("lines__item_type")

    def get_urls(self):
        return admin_lines.urls(self) + super().get_urls()

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        ukraine = Party.objects.filter(code=DEFAULT_RECIPIENT).values_list("pk", flat=True).first()
        initial.setdefault("recipient", ukraine)
        return initial

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="what publishing changes")
    def changes_to_publish(self, pledge):
        return review.diff_html(pledge)

    def has_verify_permission(self, request):
        return request.user.has_perm("aid.verify_pledge")

    def has_withdraw_permission(self, request):
        return request.user.has_perm("aid.withdraw_pledge")

    @admin.display(description="announced", ordering="announced_on")
    def announced(self, pledge):
        return pledge.announced_label

    @admin.display(description="lines")
    def lines_summary(self, pledge):
        lines = list(pledge.lines.all())
        text = "; ".join(str(line) for line in lines[:4])
        return text + (f"; … {len(lines) - 4} more" if len(lines) > 4 else "")

    @admin.display(description="value")
    def total_value(self, pledge):
        totals = defaultdict(int)
        for line in pledge.lines.all():
            if line.value is not None:
                totals[line.currency] += line.value
        return "; ".join(f"{currency} {amount:,.0f}" for currency, amount in totals.items()) or "—"

    def save_model(self, request, obj, form, change):
        """Nothing here: the pledge is saved with its lines and sources in `save_related`."""

    def save_related(self, request, form, formsets, change):
        by_model = {formset.model: formset for formset in formsets}
        lines = edited_rows(by_model[Line])
        links = edited_rows(by_model[PledgeSource])
        saved = pledge_save(actor=request.user, pledge=form.instance, lines=lines, links=links)
        if saved.pk != form.instance.pk:  # a published pledge: the change is a revision
            request.pending_revision = saved

    def response_change(self, request, obj):
        """After a change to a published pledge, the editor goes on with its pending revision."""
        revision = getattr(request, "pending_revision", None)
        if revision is None:
            return super().response_change(request, obj)
        self.message_user(
            request,
            f"The published pledge is unchanged: your change waits for review as revision "
            f"{revision.pk}, which you can go on editing here.",
            messages.INFO,
        )
        return HttpResponseRedirect(reverse("admin:aid_pledge_change", args=[revision.pk]))

    def history_view(self, request, object_id, extra_context=None):
        lines = Line.history.filter(pledge_id=object_id).select_related("history_user")
        links = PledgeSource.history.filter(pledge_id=object_id).select_related(
            "history_user", "source"
        )
        extra = {"line_history": lines[:500], "link_history": links[:500]}
        return super().history_view(request, object_id, {**extra, **(extra_context or {})})

    @admin.action(description="Verify selected pledges (reviewers)", permissions=["verify"])
    def verify(self, request, queryset):
        # One by one, so that a pledge four eyes keep from this reviewer leaves the rest verified.
        verified = refused = 0
        for pledge in queryset:
            try:
                verified += pledges_verify(actor=request.user, pledges=[pledge])
            except ValidationError as error:
                refused += 1
                self.message_user(request, f"{pledge}: {' '.join(error.messages)}", messages.ERROR)
        skipped = len(queryset) - verified - refused
        note = f" ({skipped} already verified)" if skipped else ""
        self.message_user(request, f"Verified {verified} pledge(s){note}.", messages.SUCCESS)


def edited_rows(formset) -> list:
    """The inline rows to keep after this save, and the formset's record of what changed.

    Django's admin reads `new_objects`, `changed_objects` and `deleted_objects` to write its log
    entry; they are set here because the service, not `formset.save()`, does the saving.
    """
    kept, formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], [], []
    for form in formset.forms:
        if formset._should_delete_form(form):
            if form.instance.pk:
                formset.deleted_objects.append(form.instance)
        elif form.instance.pk:
            kept.append(form.instance)
            if form.has_changed():
                formset.changed_objects.append((form.instance, form.changed_data))
        elif form.has_changed():
            kept.append(form.instance)
            formset.new_objects.append(form.instance)
    return kept
