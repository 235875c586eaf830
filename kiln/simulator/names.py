"""Names for the simulated city: brands, industry words, districts, in English and Chinese.

The brands are made up (auspicious two-character names common on Foshan's factory gates); none is
meant to be a real company.
"""

from __future__ import annotations

BRANDS: tuple[tuple[str, str], ...] = (
    ("huamei", "华美"), ("jiahe", "嘉和"), ("hengtai", "恒泰"), ("ruifeng", "瑞丰"),
    ("xinyuan", "鑫源"), ("tianli", "天力"), ("mingda", "明达"), ("guanghui", "光辉"),
    ("jinhong", "金鸿"), ("haoyu", "浩宇"), ("yongsheng", "永盛"), ("lianfa", "联发"),
    ("shengda", "盛达"), ("huaxing", "华星"), ("kaiyuan", "凯源"), ("dexin", "德信"),
    ("longteng", "龙腾"), ("weilong", "威龙"), ("anda", "安达"), ("huitong", "汇通"),
    ("hongtu", "宏图"), ("runda", "润达"), ("xinghe", "星河"), ("boyuan", "博远"),
    ("taihe", "泰和"), ("junda", "骏达"), ("yida", "亿达"), ("fengyuan", "丰源"),
    ("jingcheng", "精诚"), ("meixin", "美信"), ("rongsheng", "荣盛"), ("huafeng", "华丰"),
    ("jinrui", "金瑞"), ("lixin", "立信"), ("wanjia", "万佳"), ("yuanda", "远大"),
    ("zhongyi", "中意"), ("baisheng", "百盛"), ("chuangyu", "创宇"), ("dingfeng", "鼎丰"),
    ("fuxing", "富兴"), ("guangda", "广达"), ("hexing", "合兴"), ("jiali", "佳利"),
    ("jinxin", "金鑫"), ("kaida", "凯达"), ("minghui", "明辉"), ("qiaoxin", "侨信"),
    ("ruida", "锐达"), ("sanhe", "三和"), ("shunfa", "顺发"), ("tengfei", "腾飞"),
    ("wanli", "万力"), ("xinlong", "新龙"), ("yaohua", "耀华"), ("yihe", "怡和"),
    ("zhenhua", "振华"), ("zhuoyue", "卓越"), ("hongyuan", "宏远"), ("jinlong", "金龙"),
    ("huaxin", "华信"), ("baoli", "宝力"), ("chenguang", "晨光"), ("dongsheng", "东升"),
    ("fulai", "福来"), ("guotai", "国泰"), ("haixin", "海鑫"), ("jiaxing", "嘉兴"),
    ("kanghua", "康华"), ("lianxing", "联兴"), ("nanguang", "南光"), ("quanxing", "全兴"),
    ("shenghua", "盛华"), ("tianyu", "天宇"), ("xiangtai", "祥泰"), ("yuxing", "裕兴"),
    ("zhongda", "众达"), ("huasheng", "华晟"), ("jinhui", "金辉"), ("mingyang", "明扬"),
)  # fmt: skip

# (slug word, English, Chinese) per kind of business.
TRADES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "ceramics": (
        ("ceramics", "Ceramics", "陶瓷"),
        ("tiles", "Ceramic Tiles", "瓷砖"),
        ("building-materials", "Building Materials", "建材"),
    ),
    "sanitary": (("sanitary-ware", "Sanitary Ware", "卫浴"),),
    "automobile": (
        ("auto-parts", "Auto Parts", "汽车零部件"),
        ("precision-stamping", "Precision Stamping", "精密冲压"),
        ("auto-components", "Automotive Components", "汽车配件"),
    ),
    "appliances": (
        ("appliances", "Electric Appliances", "电器"),
        ("home-appliances", "Home Appliances", "家电"),
        ("kitchen-appliances", "Kitchen Appliances", "厨具电器"),
    ),
    "electronics": (
        ("electronics", "Electronics", "电子"),
        ("circuit-tech", "Circuit Technology", "电路科技"),
        ("optoelectronics", "Optoelectronics", "光电"),
    ),
    "robot": (
        ("robotics", "Robotics", "机器人"),
        ("intelligent-equipment", "Intelligent Equipment", "智能装备"),
    ),
}

# How the key industries spread over Foshan's districts (weights): appliances cluster in
# Shunde, ceramics in Nanhai, Chancheng, Gaoming and Sanshui, auto parts in Nanhai and the west.
DISTRICT_WEIGHTS: dict[str, dict[str, float]] = {
    "ceramics": {"chancheng": 2, "nanhai": 3, "shunde": 0.5, "gaoming": 2, "sanshui": 3},
    "automobile": {"chancheng": 1, "nanhai": 3, "shunde": 1, "gaoming": 2, "sanshui": 2},
    "appliances": {"chancheng": 1, "nanhai": 2, "shunde": 5, "gaoming": 0.5, "sanshui": 1},
    "electronics": {"chancheng": 2, "nanhai": 3, "shunde": 2, "gaoming": 1, "sanshui": 1},
    "robot": {"chancheng": 1, "nanhai": 2, "shunde": 3, "gaoming": 0.5, "sanshui": 0.5},
}

# GB/T 4754-2017 classes per kind of business, with weights.
INDUSTRY_CODES: dict[str, dict[str, float]] = {
    "ceramics": {"3071": 0.75, "3072": 0.15, "3074": 0.1},
    "automobile": {"3670": 0.8, "3660": 0.2},
    "appliances": {"3851": 0.2, "3852": 0.3, "3854": 0.25, "3855": 0.1, "3861": 0.15},
    "electronics": {"3982": 0.5, "3974": 0.2, "3951": 0.2, "3973": 0.1},
    "robot": {"3491": 1.0},
}
