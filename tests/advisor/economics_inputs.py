"""Round economic inputs that make the advisor's money exact by hand."""

from __future__ import annotations

from kiln.advisor.assumptions import Assumptions

# Round inputs: robot 200 000 yuan, integration 1x, tooling 0.5x -> 500 000 invested.
ROUND = Assumptions().with_overrides(
    {
        "robot_price_yuan.welding": 200_000,
        "integration_multiple": 1.0,
        "tooling_multiple": 0.5,
        "operating_cost_share": 0.05,
        "annual_wage_yuan": 100_000,
        "employer_on_cost_share": 0.3,
        "tend_operators": 0.25,
        "unit_value_yuan": 10,
        "margin_share": 0.15,
        "sold_share": 1.0,
        "scrap_cost_share": 0.5,
        "discount_rate": 0.10,
        "life_years": 2,
        "working_days_per_year": 300,
        "robot_cycle_share": 0.75,
        "robot_scrap_rate": 0.005,
    }
)
