"""Genealogy pages and their JSON: the lots a batch consumed and produced, and the batches that consumed a lot."""
