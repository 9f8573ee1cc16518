"""Charts drawn from the marts after each build, attached to the assets' metadata.

`pipelines.charts` (matplotlib, pandas) is imported by the step that draws, not with the
definitions: every process that loads them (each step's under the multiprocess executor, the
code server) would otherwise pay for it.
"""

import base64

import dagster as dg

from orchestration.partitions import WAREHOUSE_POOL, daily_partitions, single_run
from orchestration.resources import LakehouseResource
from pipelines.warehouse import connect

# Which marts each chart reads (one asset per chart of `pipelines.charts.CHARTS`).
CHART_MARTS = {
    "lead_lag": ("fct_signal_lead_lag",),
    "epidemic_signals": ("fct_epidemic_signals_daily",),
    "district_activity": ("fct_epidemic_signals_daily",),
    "route_on_time": ("fct_route_performance_daily",),
}
DESCRIPTIONS = {
    "lead_lag": "Correlation of each signal with morbidity by lag; which signals lead or trail.",
    "epidemic_signals": "Cases, deaths, ambulance calls, pharmacy receipts and mobility over time.",
    "district_activity": "Daytime mobility per district over time.",
    "route_on_time": "On-time share and headway regularity of the busiest bus routes.",
}


def chart_asset(name: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        key_prefix="charts",
        group_name="marts",
        deps=[dg.AssetKey(["marts", mart]) for mart in CHART_MARTS[name]],
        partitions_def=daily_partitions,
        backfill_policy=single_run,
        pool=WAREHOUSE_POOL,
        description=DESCRIPTIONS[name] + " Drawn over the whole mart after each build.",
    )
    def draw(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.Output[None]:
        from pipelines import charts

        settings = lakehouse.settings()
        out = settings.home / "charts" / f"{name}.png"
        with connect(settings, read_only=True, lake=False) as conn:
            written = charts.CHARTS[name](conn, out)
        if written is None:
            context.log.warning(f"{name}: its mart is missing or empty; no chart drawn")
            return dg.Output(None, metadata={"drawn": False})
        image = base64.b64encode(written.read_bytes()).decode()
        return dg.Output(
            None,
            metadata={
                "drawn": True,
                "path": dg.MetadataValue.path(str(written)),
                "preview": dg.MetadataValue.md(f"![{name}](data:image/png;base64,{image})"),
            },
        )

    return draw


defs = dg.Definitions(assets=[chart_asset(name) for name in CHART_MARTS])
