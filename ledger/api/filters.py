"""Filters both apps' lists share."""

import django_filters as filters


class StableOrderingFilter(filters.OrderingFilter):
    """The order asked for, then the list's default order: rows that tie on the asked-for fields
    keep one order, so pages neither repeat nor skip them."""

    def filter(self, qs, value):
        ordering = [self.get_ordering_value(name) for name in value or [] if name]
        return qs.order_by(*ordering, *qs.query.order_by) if ordering else qs
