"""The volunteer store's topics: one mixin per topic, combined in ``services.volunteer.store``."""
