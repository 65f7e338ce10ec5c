"""The admin: data entry for the catalogue, parties and pledges (entry), the lines CSV page
(lines), the totals page with its charts (totals, charts) and dataset releases (releases). It
calls services and selectors, never the API layer."""

from aid.admin import entry, releases  # noqa: F401  (registers the ModelAdmins)
