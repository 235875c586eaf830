"""Line recipes: the kinds of production line each trade runs, station by station.

A recipe gives the stations in flow order, how often a station repeats, its operators and its
equipment; `world` draws concrete lines from them. Takt is the line's pace per unit of output.
"""

from __future__ import annotations

from dataclasses import dataclass

ROBOT, KILN, PRESS = "industrial_robot", "roller_kiln", "press"
IMM, SMT, CNC = "injection_moulding", "smt_line", "cnc_machine"


@dataclass(frozen=True, slots=True)
class Unit:
    """One equipment a station holds: template, slug stem and name stem."""

    template: str
    stem: str
    name: str


@dataclass(frozen=True, slots=True)
class StationRecipe:
    """A kind of station on a line."""

    slug: str
    name: str
    units: tuple[Unit, ...] = ()
    repeat: tuple[int, int] = (1, 1)
    operators: tuple[int, int] = (0, 0)  # > 0: a manual station, which may pace the line
    skip: float = 0.0  # chance the line has no such station
    own_pace: bool = False  # keeps its template's cycle (a kiln fires per tile, not per takt)


@dataclass(frozen=True, slots=True)
class LineRecipe:
    """A kind of production line."""

    key: str
    name: str
    area: str
    takt_s: tuple[float, float]
    stations: tuple[StationRecipe, ...]


COBOT = Unit(ROBOT, "cobot", "Cobot")
PALLETISER = Unit(ROBOT, "palletising-robot", "Palletising robot")
LOADER = Unit(ROBOT, "loader", "Loader robot")
WELDER = Unit(ROBOT, "weld-robot", "Welding robot")
GLAZER = Unit(ROBOT, "glazer", "Glazing robot")
SCREWDRIVER = Unit(ROBOT, "screwdriver", "Screwdriving robot")
UNDER_TEST = Unit(ROBOT, "test-robot", "Robot under test")
PICKER = Unit(ROBOT, "picker", "Take-out robot")
PRESS_UNIT = Unit(PRESS, "press", "Press")
KILN_UNIT = Unit(KILN, "kiln", "Roller kiln")
IMM_UNIT = Unit(IMM, "imm", "Injection moulding machine")
CNC_CELL = StationRecipe("cnc-cell", "CNC cell", (Unit(CNC, "cnc", "CNC machine"), LOADER), (2, 4))

RECIPES: dict[str, tuple[LineRecipe, ...]] = {
    "automobile": (
        LineRecipe("stamping", "Stamping line", "stamping", (4.5, 6.5), (
            StationRecipe("destack", "Destacking", (Unit(ROBOT, "destacker", "Destacker robot"),)),
            StationRecipe("draw", "Draw press", (PRESS_UNIT,)),
            StationRecipe("op", "Press OP", (
                Unit(PRESS, "press", "Press"), Unit(ROBOT, "transfer", "Transfer robot"),
            ), repeat=(2, 4)),
            StationRecipe("racking", "End-of-line racking", operators=(2, 3)),
        )),
        LineRecipe("welding", "Robotic welding line", "welding", (50.0, 80.0), (
            StationRecipe("load", "Manual load", operators=(1, 1)),
            StationRecipe("weld-cell", "Weld cell", (WELDER, WELDER), repeat=(2, 4)),
            StationRecipe("seal", "Sealing", (Unit(ROBOT, "sealing-robot", "Sealing robot"),)),
            StationRecipe("inspect", "Inspection", operators=(1, 2)),
        )),
        LineRecipe("machining", "Machining line", "machining", (70.0, 110.0), (
            CNC_CELL,
            StationRecipe("deburr", "Deburring", operators=(1, 2)),
            StationRecipe("wash", "Wash and final check", operators=(1, 1)),
        )),
    ),
    "ceramics": (
        LineRecipe("tile", "Tile line", "forming-firing", (4.0, 6.0), (
            StationRecipe("press", "Tile press", (Unit(PRESS, "press", "Tile press"),), (1, 2)),
            StationRecipe("glaze", "Glazing", (GLAZER,), (1, 2)),
            StationRecipe("kiln", "Roller kiln", (KILN_UNIT,), own_pace=True),
            StationRecipe("sort", "Sorting and grading", operators=(2, 4)),
            StationRecipe("pack", "Packing", (PALLETISER,)),
        )),
    ),
    "sanitary": (
        LineRecipe("sanitary", "Sanitary ware line", "glazing-firing", (40.0, 70.0), (
            StationRecipe("cast", "Pressure casting", operators=(2, 3)),
            StationRecipe("glaze", "Robot glazing", (GLAZER,), (1, 2)),
            StationRecipe("kiln", "Roller kiln", (KILN_UNIT,), own_pace=True),
            StationRecipe("inspect", "Inspection", operators=(2, 3)),
            StationRecipe("pack", "Packing", (PALLETISER,)),
        )),
    ),
    "appliances": (
        LineRecipe("moulding", "Injection moulding shop", "moulding", (25.0, 50.0), (
            StationRecipe("cell", "Moulding cell", (IMM_UNIT, PICKER), repeat=(3, 6)),
            StationRecipe("trim", "Trimming and packing", operators=(1, 2), skip=0.5),
        )),
        LineRecipe("assembly", "Final assembly line", "assembly", (20.0, 40.0), (
            StationRecipe("screw", "Robot screwdriving", (SCREWDRIVER,)),
            StationRecipe("manual", "Manual assembly", repeat=(1, 3), operators=(2, 3)),
            StationRecipe("fit", "Cobot-assisted fitting", (COBOT,), operators=(1, 1)),
            StationRecipe("test", "Function test", operators=(1, 2)),
            StationRecipe("pack", "Packing", (PALLETISER,)),
        )),
        LineRecipe("sheet-metal", "Sheet metal line", "sheet-metal", (6.0, 10.0), (
            StationRecipe("press", "Press", (PRESS_UNIT,), repeat=(2, 4)),
            StationRecipe("bend", "Bending cell", (Unit(ROBOT, "bender", "Bending robot"),)),
            StationRecipe("inspect", "Inspection", operators=(1, 1)),
        )),
    ),
    "electronics": (
        LineRecipe("smt", "SMT line", "smt", (15.0, 30.0), (
            StationRecipe("load", "Board loading", (LOADER,)),
            StationRecipe("smt", "SMT", (Unit(SMT, "smt", "SMT line"),)),
            StationRecipe("aoi", "AOI and repair", operators=(1, 2)),
            StationRecipe("tht", "THT insertion", repeat=(1, 2), operators=(2, 4)),
            StationRecipe("depanel", "Depaneling", (Unit(CNC, "router", "Depaneling router"),)),
            StationRecipe("ict", "ICT and packing", operators=(1, 2)),
        )),
        LineRecipe("housing", "Housing machining", "machining", (60.0, 120.0), (
            StationRecipe("cnc-cell", "CNC cell", CNC_CELL.units, repeat=(3, 5)),
            StationRecipe("inspect", "Inspection", operators=(1, 2)),
            StationRecipe("pack", "Packing", (PALLETISER,), skip=0.5),
        )),
    ),
    "robot": (
        LineRecipe("reducer", "Reducer machining", "machining", (90.0, 150.0), (
            CNC_CELL,
            StationRecipe("gear-check", "Gear inspection", operators=(1, 2)),
            StationRecipe("lube", "Greasing", operators=(1, 1)),
        )),
        LineRecipe("robot-assembly", "Robot assembly", "assembly", (40.0, 80.0), (
            StationRecipe("arm", "Arm assembly", (COBOT,), repeat=(2, 3), operators=(2, 3)),
            StationRecipe("test-cell", "Test cell", (UNDER_TEST, UNDER_TEST), repeat=(1, 2)),
            StationRecipe("final", "Final inspection", operators=(2, 2)),
        )),
    ),
}  # fmt: skip
