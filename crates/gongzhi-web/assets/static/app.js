// gongzhi pages: small progressive enhancements; every form works without them.
(function () {
  // Deadlines count down in the reader's clock.
  function tick() {
    document.querySelectorAll('time.countdown').forEach(function (t) {
      var due = Date.parse(t.getAttribute('datetime'));
      if (isNaN(due)) return;
      var left = due - Date.now(), abs = Math.abs(left);
      var h = Math.floor(abs / 3600000), m = Math.floor((abs % 3600000) / 60000);
      var zh = document.documentElement.lang === 'zh-CN';
      var span = h >= 48 ? Math.floor(h / 24) + (zh ? '天' : 'd') : h + (zh ? '小时' : 'h') + m + (zh ? '分' : 'm');
      t.title = left >= 0 ? (zh ? '剩余 ' : 'due in ') + span : (zh ? '已超 ' : 'late by ') + span;
      t.classList.toggle('late', left < 0);
    });
  }
  tick(); setInterval(tick, 30000);

  // Typing in a filter box narrows a long select (the category list).
  document.querySelectorAll('input[data-filters]').forEach(function (box) {
    var sel = document.getElementById(box.getAttribute('data-filters'));
    if (!sel) return;
    box.addEventListener('input', function () {
      var q = box.value.trim().toLowerCase(), first = null;
      sel.querySelectorAll('option').forEach(function (o) {
        var hit = !q || o.textContent.toLowerCase().indexOf(q) >= 0;
        o.hidden = !hit;
        if (hit && !first) first = o;
      });
      sel.querySelectorAll('optgroup').forEach(function (g) {
        g.hidden = !Array.prototype.some.call(g.children, function (o) { return !o.hidden; });
      });
      if (q && first) first.selected = true;
    });
  });

  // "Use my location": the device's position into the latitude and longitude fields.
  var me = document.getElementById('locate-me');
  if (me && navigator.geolocation) {
    me.addEventListener('click', function () {
      var ids = me.getAttribute('data-target').split(',');
      navigator.geolocation.getCurrentPosition(function (p) {
        document.getElementById(ids[0]).value = p.coords.latitude.toFixed(6);
        document.getElementById(ids[1]).value = p.coords.longitude.toFixed(6);
        document.dispatchEvent(new CustomEvent('gz:picked'));
      });
    });
  }

  // The report form's "make public" box follows the chosen kind's default until it is touched.
  var pub = document.querySelector('input[data-public-kinds]');
  if (pub) {
    var publicKinds = pub.getAttribute('data-public-kinds').split(' '), touched = false;
    pub.addEventListener('change', function () { touched = true; });
    document.querySelectorAll('input[name="kind"]').forEach(function (k) {
      k.addEventListener('change', function () {
        if (!touched && k.checked) pub.checked = publicKinds.indexOf(k.value) >= 0;
      });
    });
  }

  // The 30-day trend chart on the dashboard.
  var chartEl = document.getElementById('trend-chart');
  if (chartEl && window.echarts) {
    var d = JSON.parse(document.getElementById('trend-data').textContent || '{}');
    var l = JSON.parse(document.getElementById('trend-labels').textContent || '{}');
    var chart = echarts.init(chartEl);
    chart.setOption({
      // Drawn on the canvas: ECharts' HTML tooltip would parse names as markup (and style them
      // with inline style attributes, which the CSP refuses).
      tooltip: { trigger: 'axis', renderMode: 'richText' }, legend: { data: [l.created, l.closed] },
      xAxis: { type: 'category', data: d.days || [] }, yAxis: { type: 'value', minInterval: 1 },
      series: [{ name: l.created, type: 'line', data: d.created || [] }, { name: l.closed, type: 'line', data: d.closed || [] }]
    });
    window.addEventListener('resize', function () { chart.resize(); });
  }
})();
