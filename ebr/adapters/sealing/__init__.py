"""Instance keys kept on disk in the instance folder, never in the database."""
