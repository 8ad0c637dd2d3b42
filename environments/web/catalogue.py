"""The shop's products and goals, generated reproducibly from a seed, and WebShop's reward formula.

- `generate_catalogue(seed)`: products with a category path, a search query group, a title, title nouns,
  attributes, options (name -> values) and a price. The shipped catalogue (`data/shop_catalogue.json`) is
  `generate_catalogue(0)`; a unit test keeps the two equal.
- `make_goal(catalogue, rng)`: an instruction for one target product: some of its attributes, one value per
  option, and a price ceiling drawn the way WebShop draws it (two of the next four multiples of 10 above the
  price, the larger one).
- `webshop_reward(product, goal, options)`: WebShop's published outcome reward (Yao et al., 2022):

      r = r_type * (|attributes matched| + |options matched| + 1[price <= ceiling])
                 / (|goal attributes| + |goal options| + 1)

  r_type is 1 when the bought product shares the goal's query group, or two levels of its category path,
  or more than 20% of the target title's nouns; 0.5 when none of these holds; 0.1 when under 10% of the
  nouns match; 0 when none does. An attribute matches when the product lists it or its title/description
  contains it; each chosen option counts when it is one of the goal's option values (or appears in the
  product's text). WebShop matches with spaCy nouns and fuzzy ratios over free text; this catalogue's
  vocabulary is closed, so nouns are listed per product and matching is exact (case-insensitive).
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

# type key -> (category path, query group, title words, title nouns, attribute vocabulary, option space)
PRODUCT_TYPES: dict[str, dict[str, Any]] = {
    "running_shoes": {
        "category": ["Clothing", "Shoes", "Running Shoes"], "query": "running shoes", "title": "Running Shoes",
        "nouns": ["shoes"],
        "attributes": ["lightweight", "breathable", "non slip", "water resistant", "rubber sole", "memory foam"],
        "options": {"size": ["6", "7", "8", "9", "10", "11", "12"], "color": ["black", "white", "red", "blue", "grey"]},
    },
    "hiking_boots": {
        "category": ["Clothing", "Shoes", "Hiking Boots"], "query": "hiking boots", "title": "Hiking Boots",
        "nouns": ["boots"],
        "attributes": ["waterproof", "ankle support", "rubber sole", "leather", "insulated", "lightweight"],
        "options": {"size": ["7", "8", "9", "10", "11", "12"], "color": ["brown", "black", "green", "tan"]},
    },
    "t_shirt": {
        "category": ["Clothing", "Tops", "T-Shirts"], "query": "t-shirt", "title": "Crew Neck T-Shirt",
        "nouns": ["t-shirt", "neck"],
        "attributes": ["cotton", "machine wash", "short sleeve", "slim fit", "moisture wicking", "organic"],
        "options": {"size": ["small", "medium", "large", "x-large"], "color": ["black", "white", "navy", "olive", "red"]},
    },
    "hoodie": {
        "category": ["Clothing", "Tops", "Hoodies"], "query": "hoodie", "title": "Pullover Hoodie",
        "nouns": ["hoodie", "pullover"],
        "attributes": ["fleece", "machine wash", "long sleeve", "relaxed fit", "cotton", "kangaroo pocket"],
        "options": {"size": ["small", "medium", "large", "x-large"], "color": ["grey", "black", "navy", "green"]},
    },
    "coffee_mug": {
        "category": ["Home", "Kitchen", "Coffee Mugs"], "query": "coffee mug", "title": "Coffee Mug",
        "nouns": ["mug", "coffee"],
        "attributes": ["ceramic", "dishwasher safe", "microwave safe", "insulated", "bpa free", "stainless steel"],
        "options": {"capacity": ["12 oz", "16 oz", "20 oz"], "color": ["white", "black", "blue", "green"]},
    },
    "water_bottle": {
        "category": ["Home", "Kitchen", "Water Bottles"], "query": "water bottle", "title": "Water Bottle",
        "nouns": ["bottle", "water"],
        "attributes": ["bpa free", "leak proof", "insulated", "stainless steel", "dishwasher safe", "wide mouth"],
        "options": {"capacity": ["18 oz", "24 oz", "32 oz", "40 oz"], "color": ["black", "white", "teal", "pink"]},
    },
    "pillow": {
        "category": ["Home", "Bedding", "Pillows"], "query": "bed pillow", "title": "Bed Pillow",
        "nouns": ["pillow", "bed"],
        "attributes": ["memory foam", "hypoallergenic", "machine washable", "cooling", "down alternative"],
        "options": {"size": ["standard", "queen", "king"], "firmness": ["soft", "medium", "firm"]},
    },
    "headphones": {
        "category": ["Electronics", "Audio", "Headphones"], "query": "headphones", "title": "Over Ear Headphones",
        "nouns": ["headphones", "ear"],
        "attributes": ["wireless", "noise cancelling", "bluetooth", "foldable", "long battery life", "built-in microphone"],
        "options": {"color": ["black", "white", "silver", "blue"]},
    },
    "phone_case": {
        "category": ["Electronics", "Accessories", "Phone Cases"], "query": "phone case", "title": "Phone Case",
        "nouns": ["case", "phone"],
        "attributes": ["shockproof", "slim", "wireless charging compatible", "clear", "raised edges"],
        "options": {"model": ["model a", "model b", "model c"], "color": ["clear", "black", "purple", "green"]},
    },
    "moisturizer": {
        "category": ["Beauty", "Skin Care", "Face Moisturizers"], "query": "face moisturizer",
        "title": "Face Moisturizer", "nouns": ["moisturizer", "face"],
        "attributes": ["fragrance free", "spf 30", "vegan", "oil free", "sensitive skin", "hyaluronic acid"],
        "options": {"size": ["1.7 oz", "3.4 oz", "5 oz"]},
    },
    "shampoo": {
        "category": ["Beauty", "Hair Care", "Shampoos"], "query": "shampoo", "title": "Shampoo",
        "nouns": ["shampoo"],
        "attributes": ["sulfate free", "paraben free", "natural ingredients", "color safe", "dry hair", "vegan"],
        "options": {"size": ["8 fl oz", "16 fl oz", "32 fl oz"], "scent": ["unscented", "coconut", "lavender", "mint"]},
    },
    "granola_bars": {
        "category": ["Grocery", "Snacks", "Granola Bars"], "query": "granola bars", "title": "Granola Bars",
        "nouns": ["bars", "granola"],
        "attributes": ["gluten free", "high protein", "low sugar", "non gmo", "kosher", "nut free"],
        "options": {"flavor": ["chocolate chip", "peanut butter", "honey oat", "berry"], "count": ["12 count", "24 count"]},
    },
}
BRANDS = ["Aldera", "Brisko", "Corvane", "Delmont", "Everlyn", "Fenwick", "Galloway", "Harlo", "Istra", "Juniper",
          "Kestrel", "Lumen", "Marlow", "Norvik", "Orwell", "Pallas"]
PRICE_RANGE = [10.0 * i for i in range(1, 100)]  # WebShop's price ceilings: multiples of 10
CATALOGUE_FILE = "shop_catalogue.json"
TEST_FILE = "shop_test.jsonl"


@dataclasses.dataclass(frozen=True)
class Product:
    id: str
    kind: str
    title: str
    category: tuple[str, ...]
    query: str
    nouns: tuple[str, ...]
    attributes: tuple[str, ...]
    options: Mapping[str, tuple[str, ...]]
    price: float
    description: str

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["options"] = {k: list(v) for k, v in self.options.items()}
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Product:
        return cls(id=d["id"], kind=d["kind"], title=d["title"], category=tuple(d["category"]), query=d["query"],
                   nouns=tuple(d["nouns"]), attributes=tuple(d["attributes"]),
                   options={k: tuple(v) for k, v in d["options"].items()}, price=float(d["price"]),
                   description=d["description"])

    def text(self) -> str:
        """Title and description, lower-cased: where WebShop also looks for attributes and options."""
        return f"{self.title} {self.description}".lower()


@dataclasses.dataclass(frozen=True)
class Goal:
    """What the instruction asks for. `product_id` is the product the goal was drawn from."""

    product_id: str
    query: str
    category: tuple[str, ...]
    nouns: tuple[str, ...]
    attributes: tuple[str, ...]
    options: Mapping[str, str]
    price_upper: float
    instruction: str

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["options"] = dict(self.options)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Goal:
        return cls(product_id=d["product_id"], query=d["query"], category=tuple(d["category"]),
                   nouns=tuple(d["nouns"]), attributes=tuple(d["attributes"]), options=dict(d["options"]),
                   price_upper=float(d["price_upper"]), instruction=d["instruction"])


def generate_catalogue(seed: int = 0, per_type: int = 10) -> list[Product]:
    """`per_type` products of every type, all drawn from `random.Random(seed)`."""
    rng = random.Random(seed)
    products = []
    for kind in sorted(PRODUCT_TYPES):
        spec = PRODUCT_TYPES[kind]
        for _ in range(per_type):
            brand = rng.choice(BRANDS)
            attributes = tuple(sorted(rng.sample(spec["attributes"], rng.randint(2, 4))))
            options = {}
            for name, values in sorted(spec["options"].items()):
                kept = set(rng.sample(values, rng.randint(2, len(values))))
                options[name] = tuple(v for v in values if v in kept)  # keep the site's natural order
            shown = [a.title() for a in attributes[:2]]
            title = f"{brand} {' '.join(shown)} {spec['title']}"
            price = round(rng.uniform(4.0, 140.0), 0) - 0.01
            description = (f"{spec['title']} by {brand}. Features: {', '.join(attributes)}. "
                           f"Category: {' / '.join(spec['category'])}.")
            products.append(Product(id=f"B{len(products) + 1:04d}", kind=kind, title=title,
                                    category=tuple(spec["category"]), query=spec["query"],
                                    nouns=(brand.lower(), *spec["nouns"]), attributes=attributes, options=options,
                                    price=price, description=description))
    return products


def shipped_catalogue() -> list[Product]:
    raw = resources.files("agentrl.environments.web").joinpath("data", CATALOGUE_FILE).read_text("utf-8")
    return [Product.from_dict(d) for d in json.loads(raw)]


def shipped_test_goals() -> list[Goal]:
    raw = resources.files("agentrl.environments.web").joinpath("data", TEST_FILE).read_text("utf-8")
    return [Goal.from_dict(json.loads(line)) for line in raw.splitlines() if line.strip()]


def price_ceiling(price: float, rng: random.Random) -> float:
    above = [p for p in PRICE_RANGE if p > price][:4]
    return sorted(rng.sample(above, 2))[1] if len(above) >= 2 else 1_000_000.0


def make_goal(catalogue: Sequence[Product], rng: random.Random) -> Goal:
    product = rng.choice(list(catalogue))
    attributes = tuple(sorted(rng.sample(product.attributes, rng.randint(1, min(3, len(product.attributes))))))
    options = {name: rng.choice(values) for name, values in product.options.items()}
    upper = price_ceiling(product.price, rng)
    wanted = " and ".join(attributes)
    chosen = ", and ".join(f"{k}: {v}" for k, v in options.items())
    instruction = f"i am looking for {product.query} that is {wanted}"
    instruction += f", with {chosen}" if chosen else ""
    instruction += f", and price lower than {upper:.2f} dollars" if upper < 1_000_000 else ""
    return Goal(product.id, product.query, product.category, product.nouns, attributes, options, upper, instruction)


# -- WebShop's reward --------------------------------------------------------------------------------------

def type_reward(product: Product, goal: Goal) -> dict[str, Any]:
    query_match = product.query == goal.query
    category_match = len(set(product.category) & set(goal.category)) >= 2
    wanted = set(goal.nouns)
    title_score = len(set(product.nouns) & wanted) / len(wanted) if wanted else 0.2
    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return {"r_type": r_type, "query_match": query_match, "category_match": category_match,
            "title_score": title_score}


def attribute_matches(product: Product, goal: Goal) -> int:
    listed, text = {a.lower() for a in product.attributes}, product.text()
    return sum(1 for a in goal.attributes if a.lower() in listed or a.lower() in text)


def option_matches(product: Product, goal: Goal, chosen: Mapping[str, str]) -> int:
    wanted, text = {v.lower() for v in goal.options.values()}, product.text()
    return sum(1 for v in chosen.values() if v and (v.lower() in wanted or v.lower() in text))


def webshop_reward(product: Product, goal: Goal, chosen: Mapping[str, str]) -> dict[str, Any]:
    """The outcome reward and its parts for buying `product` with options `chosen` (option name -> value)."""
    kind = type_reward(product, goal)
    n_att, n_opt = attribute_matches(product, goal), option_matches(product, goal, chosen)
    r_price = product.price <= goal.price_upper
    total = (n_att + n_opt + int(r_price)) / (len(goal.attributes) + len(goal.options) + 1)
    return {"reward": total * kind["r_type"], **kind, "attribute_matches": n_att, "option_matches": n_opt,
            "r_price": r_price, "goal_attributes": len(goal.attributes), "goal_options": len(goal.options)}
