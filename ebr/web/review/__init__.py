"""QA review by exception, release and rejection, and addenda."""
