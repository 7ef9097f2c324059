"""Marketing: campaigns and their drops, the master list of source (key) codes with their offers."""
