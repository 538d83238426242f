"""Data-centre waste heat and PUE.

Plain functions per physical topic, units in brackets, a reference for every
coefficient (pvlib style), and one orchestration over GeoDataFrames:

====================  ==============================================================
:mod:`.pue`           PUE from metered energy or as declared; compliance with limits
:mod:`.recovery`      heat source temperature and capture share by cooling type
:mod:`.heatpump`      Carnot-fraction COP, heat delivered, heat-pump electricity
:mod:`.season`        heating season, reference hours, metered profiles
:mod:`.demand`        hourly heat demand on a weather year (bundled: Beijing 2015)
:mod:`.matching`      merit-order dispatch of waste heat into hourly demand
:mod:`.transmission`  connection-line tree, 3-hour peak, parallel pipes, line cost
:mod:`.balance`       the hourly balance per network: demand, supply, used heat
:mod:`.equivalents`   floor area, households, standard coal and CO2 avoided
:mod:`.economics`     pipe size, pipe and heat-pump cost, heat loss, LCOH
:mod:`.ranking`       the documented score and the ranking
:mod:`.config`        every assumption in one dataclass, loadable from TOML
:mod:`.compute`       one row per data centre plus connection lines, on plain frames
:mod:`.sweep`         sensitivity: the computation over ranges of the assumptions
:mod:`.entry`         the inputs from a workspace (its open store) or layer files
:mod:`.analysis`      the public names of compute, sweep and entry in one place
:mod:`.output`        the result written to GeoPackage or CSV (and the NetCDF grid)
====================  ==============================================================

The spatial part (nearest network segment, routes, demand around a site,
heat-density grid) lives in :mod:`layers.network`; networks as wholes
(connected segments, service areas, their demand) in :mod:`layers.heatnets`.
Every figure the ranking uses is *used* heat: delivered into a network's
hourly demand, never more than that demand (issue 14).
"""

from geoenergy.heat.analysis import (
    HeatResult,
    analyse,
    analyse_files,
    analyse_workspace,
    sensitivity,
)
from geoenergy.heat.config import HeatConfig
from geoenergy.heat.output import write_result

__all__ = [
    "HeatConfig",
    "HeatResult",
    "analyse",
    "analyse_files",
    "analyse_workspace",
    "sensitivity",
    "write_result",
]
