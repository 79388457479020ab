// Renders /openapi.json with Swagger UI (assets served by this app, no CDN). A file, not an inline script,
// so the page keeps the same content-security-policy as the rest of the site.
"use strict";

window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    validatorUrl: null,         // the public validator badge would call out to the internet
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",       // without the standalone top bar, whose URL box could load other specs
    defaultModelsExpandDepth: 1,
  });
});
