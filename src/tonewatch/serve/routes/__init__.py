"""The pages and actions of the review UI, one router per area (about 100 lines each)."""
