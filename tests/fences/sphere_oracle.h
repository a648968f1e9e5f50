#ifndef HERD_TESTS_FENCES_SPHERE_ORACLE_H_
#define HERD_TESTS_FENCES_SPHERE_ORACLE_H_

// Geometry for the tests, written without S2 so that it can check S2: unit
// vectors, random star-shaped polygons, and point-in-polygon by the gnomonic
// projection (great-circle arcs project to straight lines, so a planar ray
// crossing test in the tangent plane at the polygon's centre is exact for a
// polygon inside that hemisphere, across the antimeridian and the poles).

#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <string>
#include <vector>

namespace herd::testing {

struct Vec {
  double x = 0, y = 0, z = 0;
};
inline Vec operator+(Vec a, Vec b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline Vec operator*(double k, Vec a) { return {k * a.x, k * a.y, k * a.z}; }
inline double Dot(Vec a, Vec b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline Vec Cross(Vec a, Vec b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
inline Vec Unit(Vec a) { return (1 / std::sqrt(Dot(a, a))) * a; }

constexpr double kRad = std::numbers::pi / 180;

inline Vec FromDegrees(double lat, double lng) {
  return {std::cos(lat * kRad) * std::cos(lng * kRad), std::cos(lat * kRad) * std::sin(lng * kRad),
          std::sin(lat * kRad)};
}
struct Degrees {
  double lat = 0, lng = 0;
};
inline Degrees ToDegrees(Vec v) {
  return {std::atan2(v.z, std::hypot(v.x, v.y)) / kRad, std::atan2(v.y, v.x) / kRad};
}

// The tangent plane at a centre, with two axes.
struct Plane {
  Vec centre, east, north;
  explicit Plane(Vec c) : centre(Unit(c)) {
    Vec pole = std::abs(centre.z) > 0.9 ? Vec{1, 0, 0} : Vec{0, 0, 1};
    east = Unit(Cross(pole, centre));
    north = Cross(centre, east);
  }
  // The gnomonic image of a point in the centre's hemisphere.
  bool Project(Vec p, double* u, double* v) const {
    const double d = Dot(p, centre);
    if (d <= 1e-9) return false;
    *u = Dot(p, east) / d;
    *v = Dot(p, north) / d;
    return true;
  }
  Vec Unproject(double u, double v) const { return Unit(centre + u * east + v * north); }
};

struct Polygon2 {
  std::vector<double> u, v;
};

// Ray crossing (even-odd); `margin` out: the distance to the nearest edge
// in the plane, to skip points too close to the boundary to judge.
inline bool PlanarContains(const Polygon2& ring, double x, double y, double* margin) {
  bool inside = false;
  double nearest = 1e300;
  const size_t n = ring.u.size();
  for (size_t i = 0, j = n - 1; i < n; j = i++) {
    const double xi = ring.u[i], yi = ring.v[i], xj = ring.u[j], yj = ring.v[j];
    if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    const double dx = xj - xi, dy = yj - yi;
    double t = ((x - xi) * dx + (y - yi) * dy) / (dx * dx + dy * dy);
    t = std::fmax(0, std::fmin(1, t));
    nearest = std::fmin(nearest, std::hypot(x - (xi + t * dx), y - (yi + t * dy)));
  }
  *margin = nearest;
  return inside;
}

// A random star-shaped ring around `centre` of tangent-plane radius about
// `radius` (radians, small): `jitter` 0 gives a convex-ish ring, near 1 a
// deeply concave one. Positions in degrees, as written to GeoJSON.
inline std::vector<Degrees> StarRing(std::mt19937& random, Vec centre, double radius, int vertices,
                                     double jitter) {
  const Plane plane(centre);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<double> angles(vertices);
  for (int i = 0; i < vertices; ++i) {
    angles[i] = (i + 0.1 + 0.8 * unit(random)) * 2 * std::numbers::pi / vertices;
  }
  std::vector<Degrees> ring;
  for (double angle : angles) {
    const double r = radius * (1 - jitter * unit(random));
    ring.push_back(ToDegrees(plane.Unproject(r * std::cos(angle), r * std::sin(angle))));
  }
  return ring;
}

inline std::string RingJson(const std::vector<Degrees>& ring, bool reversed) {
  std::vector<Degrees> order = ring;
  if (reversed) order.assign(ring.rbegin(), ring.rend());
  order.push_back(order.front());
  std::string json = "[";
  char buffer[80];
  for (size_t i = 0; i < order.size(); ++i) {
    std::snprintf(buffer, sizeof buffer, "%s[%.17g,%.17g]", i ? "," : "", order[i].lng,
                  order[i].lat);
    json += buffer;
  }
  return json + "]";
}

inline std::string PolygonJson(const std::vector<std::vector<Degrees>>& rings,
                               bool reversed = false) {
  std::string json = R"({"type":"Polygon","coordinates":[)";
  for (size_t i = 0; i < rings.size(); ++i) json += (i ? "," : "") + RingJson(rings[i], reversed);
  return json + "]}";
}

// Whether `point` is in the polygon (outer ring, holes) by the gnomonic
// projection at `centre`; false in `*sure` within `margin` of an edge.
inline bool OracleContains(const std::vector<std::vector<Degrees>>& rings, Vec centre, Vec point,
                           bool* sure, double margin = 1e-9) {
  const Plane plane(centre);
  double x, y;
  *sure = true;
  if (!plane.Project(point, &x, &y)) return false;
  bool inside = false;
  for (const auto& ring : rings) {
    Polygon2 flat;
    for (const Degrees& d : ring) {
      double u = 0, v = 0;
      if (!plane.Project(FromDegrees(d.lat, d.lng), &u, &v)) {
        *sure = false;  // too large a polygon for this oracle
        return false;
      }
      flat.u.push_back(u);
      flat.v.push_back(v);
    }
    double distance;
    if (PlanarContains(flat, x, y, &distance)) inside = !inside;
    if (distance < margin) *sure = false;
  }
  return inside;
}

}  // namespace herd::testing

#endif  // HERD_TESTS_FENCES_SPHERE_ORACLE_H_
