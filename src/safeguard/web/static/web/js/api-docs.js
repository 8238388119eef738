/* Starts the vendored Swagger UI on /api/v1/docs without inline script (strict CSP).
   The page's <body> carries the schema URL and, for "Try it out" in a staff session, the CSRF
   token that unsafe API calls need (X-CSRFToken). */
(function () {
  "use strict";
  var data = document.body.dataset;
  window.SwaggerUIBundle({
    url: data.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    layout: "BaseLayout",
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    requestInterceptor: function (req) {
      if (data.csrfToken) {
        req.headers["X-CSRFToken"] = data.csrfToken;
      }
      return req;
    }
  });
})();
