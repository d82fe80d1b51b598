"""`/api/v1/_openapi`, the OpenAPI document of exactly the APIs this app registers, and Swagger UI
at `/swagger/v1` (FAB's own views are off: FAB_ADD_OPENAPI_VIEWS = False)."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Response, current_app, request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_appbuilder.api.manager import SwaggerView as FabSwaggerView
from flask_appbuilder.api.manager import resolver
from flask_appbuilder.security.decorators import has_access

from .contract import ContractApi, nullable_reference

VERSION = "v1"


def build_spec(appbuilder) -> dict:
    """The document of every registered API of this version."""
    plugin = MarshmallowPlugin(schema_name_resolver=resolver)
    spec = APISpec(
        title=appbuilder.app_name,
        version=VERSION,
        openapi_version="3.0.2",
        info={"description": f"{appbuilder.app_name}: the REST API. Authorise with a Bearer token "
                             "from POST /api/v1/security/login."},
        plugins=[plugin],
        servers=current_app.config.get("FAB_OPENAPI_SERVERS", [{"url": request.host_url}]),
    )
    plugin.converter.add_attribute_function(nullable_reference)
    for view in appbuilder.baseviews:
        if isinstance(view, BaseApi) and view.version == VERSION:
            view.add_api_spec(spec)
    return spec.to_dict()


class OpenApi(ContractApi):
    """FAB's name, so FAB's permission (`can_get` on `OpenApi`, admins) still applies."""

    route_base = f"/api/{VERSION}"
    resource_name = "openapi"
    allow_browser_login = True  # Swagger UI fetches it with the admin's session; it only reads
    openapi_spec_tag = "OpenApi"

    @expose("/_openapi", methods=["GET"])
    @protect()
    @safe
    def get(self) -> Response:
        """The OpenAPI document of this API
        ---
        get:
          description: >-
            This document: every operation the server serves, with its request and answer shapes
          responses:
            200:
              description: An OpenAPI 3.0 document
              content:
                application/json:
                  schema:
                    type: object
        """
        return self.response(200, **build_spec(self.appbuilder))


class SwaggerView(FabSwaggerView):
    """Swagger UI on this app's one document (FAB's name, so FAB's permission)."""

    default_view = "show"

    @expose(f"/{VERSION}")
    @has_access
    def show(self) -> str:
        return self.render_template(
            current_app.config.get("FAB_API_SWAGGER_TEMPLATE", "appbuilder/swagger/swagger.html"),
            openapi_uri=f"{request.script_root}/api/{VERSION}/_openapi",
        )
