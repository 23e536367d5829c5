"""Per-user signing keys wrapped under the user's password, and the site CA that certifies them."""
