TYPES = []
ATTRIBUTES = {}


def expand(driver, stack, name, region, ctx):
    return []
