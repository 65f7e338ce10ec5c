"""The `/api/v1/` URL map: resources, totals, token login, the OpenAPI schema and its docs."""

from django.urls import include, path
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from knox import views as knox_views
from rest_framework import serializers
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.routers import DefaultRouter

from aid.api import views
from aid.api.releases import ReleaseViewSet, file_route
from aid.api.reviews import ReviewViewSet
from sources.api.views import SourceViewSet

router = DefaultRouter()
router.register("parties", views.PartyViewSet, basename="party")
router.register("officials", views.OfficialViewSet, basename="official")
router.register("categories", views.CategoryViewSet, basename="category")
router.register("item-types", views.ItemTypeViewSet, basename="item-type")
router.register("sources", SourceViewSet, basename="source")
router.register("pledges", views.PledgeViewSet, basename="pledge")
router.register("lines", views.LineViewSet, basename="line")
router.register("reviews", ReviewViewSet, basename="review")
router.register("releases", ReleaseViewSet, basename="release")


@extend_schema(
    request=None,
    responses=inline_serializer(
        "Token",
        {
            "expiry": serializers.DateTimeField(),
            "token": serializers.CharField(),
            "user": serializers.DictField(),
        },
    ),
)
class LoginView(knox_views.LoginView):
    """POST with a username and password (HTTP Basic) or a session: returns a new API token.

    Send it as `Authorization: Token <token>`. The ledger stores only a hash of it."""

    authentication_classes = [BasicAuthentication, SessionAuthentication]


@extend_schema(request=None, responses={204: None})
class LogoutView(knox_views.LogoutView):
    """Revoke the token this request is authenticated with."""


@extend_schema(request=None, responses={204: None})
class LogoutAllView(knox_views.LogoutAllView):
    """Revoke every token of the authenticated user."""


urlpatterns = [
    file_route(),
    path("", include(router.urls)),
    path("totals/", views.TotalsView.as_view(), name="totals"),
    path("auth/login/", LoginView.as_view(), name="knox_login"),
    path("auth/logout/", LogoutView.as_view(), name="knox_logout"),
    path("auth/logoutall/", LogoutAllView.as_view(), name="knox_logoutall"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
