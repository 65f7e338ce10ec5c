from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class Pages(PageNumberPagination):
    """Page-number pagination; `page_size` may be asked for, up to a cap."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000
    page_size_query_description = f"Rows per page, from 1; at most {max_page_size} are given."

    def get_page_size(self, request):
        """A page size that is not a whole number from 1 is an error naming it, not ignored."""
        asked = request.query_params.get(self.page_size_query_param, "")
        if not asked:
            return self.page_size
        if not (asked.isascii() and asked.isdigit()) or int(asked) < 1:
            raise ValidationError({self.page_size_query_param: [self.page_size_query_description]})
        return min(int(asked), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters
