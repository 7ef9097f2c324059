// Starts Swagger UI (served from the installed swagger-ui-bundle-v2 package) on our OpenAPI document.
window.ui = SwaggerUIBundle({ url: "/api/v1/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
