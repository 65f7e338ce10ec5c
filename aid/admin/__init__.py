"""The admin: data entry for the catalogue, parties and pledges (entry), the lines CSV page
(lines) and the totals page with its charts (totals, charts). It calls services and selectors,
never the API layer."""

from aid.admin import entry  # noqa: F401  (registers the ModelAdmins)
