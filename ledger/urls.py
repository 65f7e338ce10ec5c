from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from aid.admin.totals import totals_page

admin.site.site_header = "Military-aid commitment ledger"
admin.site.site_title = "Aid ledger"
admin.site.index_title = "Data entry"
admin.site.index_template = "admin/aid/index.html"  # the index with a link to the totals page
# The pledge form needs the width; breadcrumbs and the index already lead everywhere.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/totals/", admin.site.admin_view(totals_page), name="admin_totals"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("ledger.api.urls")),
]

handler404 = "ledger.api.errors.not_found"
handler500 = "ledger.api.errors.server_error"
