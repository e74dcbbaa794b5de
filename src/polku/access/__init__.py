"""The one place that decides who may do what to which client's data (see ``policy``)."""
