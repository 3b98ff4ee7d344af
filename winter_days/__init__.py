"""winter-days: a batch data and MLOps platform (sales, clickstream, startups -> lake -> warehouse -> churn model)."""

__version__ = "0.1.0"
