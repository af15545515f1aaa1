//# sOuRcEMaPpInGURL=source_map.js.map
