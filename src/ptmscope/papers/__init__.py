"""Paper sources (OpenReview, arXiv, DBLP, paper lists) and their collection into the store."""
