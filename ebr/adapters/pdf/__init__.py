"""PDF rendering with WeasyPrint and a locked-down URL fetcher."""
