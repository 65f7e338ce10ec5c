"""The totals question as a reader asks it, in query parameters: checked once, here, for the
API's totals endpoint and the admin's totals page alike, with errors that name the parameter."""

import datetime

from rest_framework import serializers

from aid.codes import NOT_MONEY, not_money
from aid.models import ECB, RateTable
from aid.rates.convert import ANNOUNCEMENT, ecb_range, is_date
from aid.selectors import GROUPS, MEASURES, PERIODS, TotalsQuery


class TotalsQuerySerializer(serializers.Serializer):
    """The totals endpoint's own parameters (line filters come from LineFilterSet)."""

    group_by = serializers.CharField(
        required=False,
        default="",
        help_text=f"Comma-separated, any of: {', '.join(GROUPS)}. Empty gives one grand total.",
    )
    period = serializers.ChoiceField(choices=list(PERIODS), default="year")
    category_level = serializers.ChoiceField(
        choices=[1], required=False, help_text="1 rolls categories up to level 1."
    )
    measure = serializers.ChoiceField(choices=list(MEASURES), default="value")
    currency = serializers.CharField(default="EUR", help_text="EUR or any ECB currency.")
    fx = serializers.CharField(
        default=ANNOUNCEMENT,
        help_text="`announcement` (ECB rate of each line's date), a date YYYY-MM-DD (every "
        "line at that day's ECB rates), or the name of a rate table in the ledger.",
    )
    cumulative = serializers.BooleanField(default=False, help_text="Running totals along period.")

    def validate_group_by(self, value: str) -> tuple[str, ...]:
        groups = tuple(name.strip() for name in value.split(",") if name.strip())
        unknown = [name for name in groups if name not in GROUPS]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown group {', '.join(unknown)}; choose from {', '.join(GROUPS)}."
            )
        if len(set(groups)) != len(groups):
            raise serializers.ValidationError("A group is named twice.")
        return groups

    def validate_fx(self, value: str) -> str:
        if value == ANNOUNCEMENT:
            return value
        if is_date(value):
            # A day outside the rates held would silently take the last rate before it (or none).
            held = ecb_range()
            day = datetime.date.fromisoformat(value)
            if held is None or not held[0] <= day <= held[1]:
                span = f"{held[0]} to {held[1]}" if held else "none are loaded"
                raise serializers.ValidationError(
                    f"{value} is outside the stored ECB rates ({span}); choose a day within them "
                    "or reload the rates (manage.py load_rates)."
                )
            return value
        if value == ECB:  # dated: which of its days would a table name mean?
            raise serializers.ValidationError(
                "The ECB rates are used by `announcement` (each line's date) or by a date "
                "YYYY-MM-DD (every line at that day's rates)."
            )
        tables = RateTable.objects.filter(dated=False)
        if not tables.filter(name=value).exists():
            names = ", ".join(tables.values_list("name", flat=True)) or "none loaded"
            raise serializers.ValidationError(
                f"Not `announcement`, a date YYYY-MM-DD or a rate table ({names})."
            )
        return value

    def validate(self, attrs):
        currency = attrs["currency"] = attrs["currency"].strip().upper()
        if currency in NOT_MONEY:
            raise serializers.ValidationError({"currency": f"{currency} {not_money(currency)}."})
        fx = attrs["fx"]
        table = fx if fx not in (ANNOUNCEMENT,) and not is_date(fx) else ECB
        if (
            currency != "EUR"
            and not RateTable.objects.filter(name=table, rates__currency=currency).exists()
        ):
            raise serializers.ValidationError(
                {"currency": f"No {currency} rate in the table “{table}”."}
            )
        if attrs["cumulative"] and "period" not in attrs["group_by"]:
            raise serializers.ValidationError(
                {"cumulative": "Cumulative totals run along period: add period to group_by."}
            )
        return attrs

    def query(self) -> TotalsQuery:
        data = self.validated_data
        return TotalsQuery(
            group_by=data["group_by"],
            period=data["period"],
            category_level=data.get("category_level"),
            measure=data["measure"],
            currency=data["currency"],
            fx=data["fx"],
            cumulative=data["cumulative"],
        )
