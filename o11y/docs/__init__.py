"""The documentation site's generated pages (API and schema references) and its build hook."""
