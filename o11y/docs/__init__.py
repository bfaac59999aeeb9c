"""The documentation site's generated pages (API and schema references) and its build hook.

Imports what it documents: storage/, the OpenAPI documents of ingest/ and api/."""
