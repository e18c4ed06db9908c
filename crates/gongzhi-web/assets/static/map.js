// gongzhi maps: grid polygons drawn from our own data, no tile server needed; a basemap is
// added underneath only when one is configured.
(function () {
  if (!window.L) return;
  var cfg = JSON.parse((document.getElementById('map-config') || {}).textContent || '{}');
  var zh = document.documentElement.lang === 'zh-CN';

  // Canvas for the many-polygon maps; SVG (crisper on phones) for the small ones.
  function base(el, canvas) {
    var map = L.map(el, { preferCanvas: !!canvas, attributionControl: !!cfg.basemap });
    if (cfg.basemap) L.tileLayer(cfg.basemap, { maxZoom: 19 }).addTo(map);
    map.setView([39.92, 116.41], 13);
    return map;
  }
  // Names come from data: a tooltip gets a text node, never a string Leaflet would parse as HTML.
  function text(s) { var el = document.createElement('span'); el.textContent = s; return el; }
  function loadGrids(url) { return fetch(url, { credentials: 'same-origin' }).then(function (r) { return r.json(); }); }

  // Picking a point on the report form.
  var pick = document.getElementById('pick-map');
  if (pick) {
    var ids = pick.getAttribute('data-pick').split(',');
    var lat = document.getElementById(ids[0]), lng = document.getElementById(ids[1]);
    var map = base(pick), marker = null;
    function show() {
      var a = parseFloat(lat.value), b = parseFloat(lng.value);
      if (isNaN(a) || isNaN(b)) return;
      if (marker) marker.setLatLng([a, b]); else marker = L.marker([a, b], { icon: L.divIcon({ className: 'pin', html: '📍', iconSize: [24, 24], iconAnchor: [12, 24] }) }).addTo(map);
    }
    loadGrids('/dashboard/grids.json').then(function (fc) {
      var layer = L.geoJSON(fc, { style: { color: '#b3261e', weight: 1, fillOpacity: 0.05 } }).addTo(map);
      if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
      layer.on('click', function (e) { set(e.latlng); });
    }).catch(function () {});
    function set(p) { lat.value = p.lat.toFixed(6); lng.value = p.lng.toFixed(6); show(); }
    map.on('click', function (e) { set(e.latlng); });
    [lat, lng].forEach(function (i) { i.addEventListener('change', show); });
    document.addEventListener('gz:picked', show);
    show();
  }

  // A case's point.
  var one = document.getElementById('case-map');
  if (one) {
    var p = one.getAttribute('data-point').split(',').map(parseFloat);
    var m1 = base(one);
    m1.setView(p, 16);
    loadGrids('/dashboard/grids.json').then(function (fc) {
      L.geoJSON(fc, { style: { color: '#5b6475', weight: 1, fillOpacity: 0.03 } }).addTo(m1);
    }).catch(function () {});
    L.circleMarker(p, { radius: 8, color: '#b3261e', fillOpacity: 0.8 }).addTo(m1);
  }

  // The dashboard and admin maps: grids coloured by open or overdue cases, aggregated to the
  // chosen level (street 9, community 12, grid 15 digits); a click drills down.
  ['dash-map', 'admin-map'].forEach(function (id) {
    var el = document.getElementById(id);
    if (!el) return;
    var map = base(el, true), fc = null, layer = null, level = 9, within = '';
    var measure = document.getElementById('map-measure'), levelSel = document.getElementById('map-level');
    var up = document.getElementById('map-up'), info = document.getElementById('map-info');
    function colour(v, max) {
      if (!v) return '#f2f4f7';
      var t = Math.min(1, v / Math.max(1, max));
      return ['#fde0c5', '#facba6', '#f59e72', '#e5683c', '#b3261e'][Math.min(4, Math.floor(t * 4.99))];
    }
    function draw() {
      if (!fc) return;
      var key = measure ? measure.value : 'open', sums = {}, max = 0;
      var feats = fc.features.filter(function (f) { return f.properties.code.indexOf(within) === 0; });
      feats.forEach(function (f) {
        var k = f.properties.code.slice(0, level);
        sums[k] = (sums[k] || 0) + (f.properties[key] || 0);
      });
      Object.keys(sums).forEach(function (k) { max = Math.max(max, sums[k]); });
      if (layer) map.removeLayer(layer);
      layer = L.geoJSON({ type: 'FeatureCollection', features: feats }, {
        style: function (f) {
          var k = f.properties.code.slice(0, level);
          return { color: '#5b6475', weight: level === 15 ? 1 : 0.4, fillColor: colour(sums[k], max), fillOpacity: 0.75 };
        },
        onEachFeature: function (f, lyr) {
          var k = f.properties.code.slice(0, level);
          var name = level === 15 ? (f.properties.name || k) : (fc.names[k] || k);
          lyr.bindTooltip(text(name + ': ' + (sums[k] || 0)));
          lyr.on('click', function () {
            if (level < 15) { within = k; level += 3; if (levelSel) levelSel.value = String(level); draw(); fit(); }
            if (info) info.textContent = name + ' · ' + (zh ? (key === 'open' ? '在办 ' : '超期 ') : key + ' ') + (sums[k] || 0);
          });
        }
      }).addTo(map);
    }
    // Drilling down glides; the first view is set at once, so 'ready' means the map has settled.
    function fit(still) { if (layer && layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { animate: !still }); }
    if (measure) measure.addEventListener('change', draw);
    if (levelSel) levelSel.addEventListener('change', function () { level = parseInt(levelSel.value, 10); if (within.length >= level) within = within.slice(0, level - 3); draw(); });
    if (up) up.addEventListener('click', function () { if (level > 9) { level -= 3; within = within.slice(0, Math.max(0, level - 3)); if (levelSel) levelSel.value = String(level); draw(); fit(); } });
    loadGrids(el.getAttribute('data-grids')).then(function (data) { fc = data; draw(); fit(true); el.setAttribute('data-ready', String(fc.features.length)); });
  });
})();
