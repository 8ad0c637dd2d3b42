"""Heterogeneous background drivers for highway-env: aggressive, normal and defensive IDM/MOBIL parameter sets.

iPLAN's Heterogeneous Highway fills the road with drivers of different styles and varies how many of them are
aggressive ("mild" vs "chaotic" traffic). highway-env takes one vehicle class for all background traffic
(``config["other_vehicles_type"]``) and calls ``randomize_behavior()`` on each new vehicle; the classes here draw
a driver type there, from the road's seeded generator, and set that vehicle's IDM (car following) and MOBIL
(lane changing) parameters as instance attributes. So the draw is part of the seeded simulation: the same seed
gives the same drivers.

Pick a traffic level with its class path, e.g. ``other_vehicles_type=TRAFFIC_LEVELS["chaotic"]``.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from highway_env.vehicle.behavior import IDMVehicle
from highway_env.vehicle.controller import ControlledVehicle


@dataclasses.dataclass(frozen=True)
class DriverType:
    """One driving style: IDM and MOBIL parameters plus a desired-speed factor."""

    name: str
    time_wanted: float  # desired time gap to the leader [s]
    distance_wanted: float  # jam distance to the leader, bumper to bumper [m]
    comfort_acc_max: float  # [m/s2]
    comfort_acc_min: float  # desired maximum braking, negative [m/s2]
    politeness: float  # MOBIL: how much the followers' loss counts, in [0, 1]
    lane_change_min_gain: float  # MOBIL: acceleration gain needed to change lane [m/s2]
    lane_change_delay: float  # seconds between lane-change decisions
    speed_factor: float  # desired speed relative to the speed the vehicle was created with

    def apply(self, vehicle: IDMVehicle) -> None:
        vehicle.TIME_WANTED = self.time_wanted
        vehicle.DISTANCE_WANTED = self.distance_wanted + ControlledVehicle.LENGTH
        vehicle.COMFORT_ACC_MAX = self.comfort_acc_max
        vehicle.COMFORT_ACC_MIN = self.comfort_acc_min
        vehicle.POLITENESS = self.politeness
        vehicle.LANE_CHANGE_MIN_ACC_GAIN = self.lane_change_min_gain
        vehicle.LANE_CHANGE_DELAY = self.lane_change_delay
        if vehicle.target_speed is not None:
            vehicle.target_speed = float(vehicle.target_speed) * self.speed_factor
        vehicle.driver_type = self.name


# Aggressive drivers follow closely, accelerate and brake hard, change lanes for small gains and ignore the
# drivers they cut in front of; defensive ones keep long gaps, accelerate gently and yield.
AGGRESSIVE = DriverType("aggressive", time_wanted=0.6, distance_wanted=2.0, comfort_acc_max=4.5,
                        comfort_acc_min=-7.0, politeness=0.0, lane_change_min_gain=0.05, lane_change_delay=0.5,
                        speed_factor=1.2)
NORMAL = DriverType("normal", time_wanted=1.5, distance_wanted=5.0, comfort_acc_max=3.0, comfort_acc_min=-5.0,
                    politeness=0.2, lane_change_min_gain=0.2, lane_change_delay=1.0, speed_factor=1.0)
DEFENSIVE = DriverType("defensive", time_wanted=2.5, distance_wanted=8.0, comfort_acc_max=1.5,
                       comfort_acc_min=-3.0, politeness=0.6, lane_change_min_gain=0.5, lane_change_delay=2.0,
                       speed_factor=0.85)
DRIVER_TYPES = {d.name: d for d in (AGGRESSIVE, NORMAL, DEFENSIVE)}


class HeterogeneousDriver(IDMVehicle):
    """An IDM/MOBIL vehicle whose style is drawn from `MIX` (probabilities of aggressive, normal, defensive)."""

    MIX: ClassVar[tuple[float, float, float]] = (1 / 3, 1 / 3, 1 / 3)
    driver_type: str = "normal"

    def randomize_behavior(self) -> None:
        super().randomize_behavior()
        kinds = (AGGRESSIVE, NORMAL, DEFENSIVE)
        kinds[int(self.road.np_random.choice(3, p=self.MIX))].apply(self)


class MildTraffic(HeterogeneousDriver):
    MIX = (0.1, 0.6, 0.3)


class ChaoticTraffic(HeterogeneousDriver):
    MIX = (0.5, 0.3, 0.2)


_HERE = __name__
TRAFFIC_LEVELS = {
    "mild": f"{_HERE}.MildTraffic",
    "chaotic": f"{_HERE}.ChaoticTraffic",
    "uniform": f"{_HERE}.HeterogeneousDriver",
    "idm": "highway_env.vehicle.behavior.IDMVehicle",  # highway-env's own homogeneous traffic
}
